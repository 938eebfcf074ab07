# An operations desk reads a 24-hour clock and day-month-year, whatever the browser's locale.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i T"  # with the zone it is told in: "8 Feb 2013, 11:00 EST"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]
FIRST_DAY_OF_WEEK = 1
