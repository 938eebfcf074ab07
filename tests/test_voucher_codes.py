"""Voucher codes (vouchers/codes.py): format, normalisation, check symbol guarantees, entropy, uniqueness."""

import re
import secrets
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vouchers import codes
from vouchers.codes import (
    ALPHABET,
    CODE_SYMBOLS,
    WEIGHTS,
    CodeCheck,
    InvalidCodeError,
    check,
    check_symbol,
    decode,
    encode,
    generate_code,
    gf_mul,
    group,
    normalise,
)

CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]$")
values_80 = st.integers(min_value=0, max_value=2**80 - 1)


def symbols_of(code: str) -> str:
    return code.replace("-", "")


def sample_codes(n: int) -> list[str]:
    return [generate_code() for _ in range(n - 2)] + [encode(0), encode(2**80 - 1)]


# --- format ---------------------------------------------------------------


def test_alphabet_is_crockford_base32_without_ambiguous_letters() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_generated_code_is_grouped_4_4_4_4_1_and_fits_the_model_field() -> None:
    from vouchers.models import Voucher

    code = generate_code()
    assert CODE_RE.match(code), code
    assert len(symbols_of(code)) == CODE_SYMBOLS == 17
    max_length = Voucher._meta.get_field("code").max_length
    assert max_length is not None
    assert len(code) == 21 <= max_length


def test_encode_matches_the_reference_definition() -> None:
    for value in [0, 1, 2**80 - 1, *(secrets.randbits(80) for _ in range(500))]:
        data = "".join(ALPHABET[(value >> shift) & 31] for shift in range(75, -1, -5))
        assert encode(value) == group(data + check_symbol(data))


@pytest.mark.parametrize("value", [-1, 2**80])
def test_encode_rejects_values_outside_80_bits(value: int) -> None:
    with pytest.raises(ValueError, match="80 bits"):
        encode(value)


# --- entropy ----------------------------------------------------------------


def test_generate_code_draws_80_bits_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake_randbits(k: int) -> int:
        calls.append(k)
        return 2**80 - 12345

    monkeypatch.setattr(codes.secrets, "randbits", fake_randbits)
    code = generate_code()
    assert calls == [80]
    assert decode(code) == 2**80 - 12345


@given(values_80)
def test_code_carries_all_80_bits(value: int) -> None:
    """encode is injective on 80-bit integers: decode recovers every bit."""
    assert decode(encode(value)) == value


def test_every_data_position_uses_the_whole_alphabet() -> None:
    """16 data symbols x 5 bits each, all 32 values seen at every position (incl. the top one)."""
    seen: list[set[str]] = [set() for _ in range(16)]
    for _ in range(5_000):
        for position, symbol in enumerate(symbols_of(generate_code())[:16]):
            seen[position].add(symbol)
    assert all(s == set(ALPHABET) for s in seen)


def test_one_million_codes_are_distinct() -> None:
    started = time.perf_counter()
    generated = {encode(secrets.randbits(80)) for _ in range(1_000_000)}
    elapsed = time.perf_counter() - started
    assert len(generated) == 1_000_000
    assert elapsed < 30, f"encoding 1M codes took {elapsed:.1f}s"


# --- normalise ----------------------------------------------------------------


@st.composite
def retyped(draw: st.DrawFn, code: str) -> str:
    """The code as a customer might type it: any case, stray separators, I/L for 1 and O for 0."""
    out: list[str] = []
    for symbol in symbols_of(code):
        typed = symbol
        if symbol == "1":
            typed = draw(st.sampled_from("1IL"))
        elif symbol == "0":
            typed = draw(st.sampled_from("0O"))
        if draw(st.booleans()):
            typed = typed.lower()
        out.append(typed)
        out.append(draw(st.sampled_from(["", "", " ", "-", ".", "  ", " - ", "\t"])))
    return draw(st.sampled_from(["", " ", "-"])) + "".join(out)


@given(st.data(), values_80)
def test_retyped_codes_round_trip_through_normalise(data: st.DataObject, value: int) -> None:
    code = encode(value)
    typed = data.draw(retyped(code))
    assert normalise(typed) == code
    assert check(typed) is CodeCheck.VALID_FORM


# Drawn once per run, so hypothesis sees a fixed strategy (generate_code inside a test is flaky for it).
GENERATED = [generate_code() for _ in range(200)]


@given(st.data(), st.sampled_from(GENERATED))
def test_retyped_generated_codes_round_trip(data: st.DataObject, code: str) -> None:
    assert normalise(data.draw(retyped(code))) == code


def test_documented_example_is_valid() -> None:
    assert check("7K3M-Q9TX-W2HD-R8NP-3") is CodeCheck.VALID_FORM
    assert check("7k3m q9tx w2hd r8np 3") is CodeCheck.VALID_FORM
    assert check("7K3M-Q9TX-W2HD-R8NP-5") is CodeCheck.MISTYPED
    assert check("7K3M-Q9XT-W2HD-R8NP-3") is CodeCheck.MISTYPED


def test_aliases_map_to_digits() -> None:
    assert normalise("IiLl-OoIL-0000-1111-0") == "1111-0011-0000-1111-0"


def test_normalise_does_not_verify_the_check_symbol() -> None:
    code = generate_code()
    wrong = ALPHABET[(ALPHABET.index(code[-1]) + 1) % 32]
    assert normalise(code[:-1] + wrong) == code[:-1] + wrong


# --- check symbol: single substitutions and transpositions --------------------


def test_weights_are_distinct_and_nonzero() -> None:
    assert len(WEIGHTS) == CODE_SYMBOLS
    assert len(set(WEIGHTS)) == CODE_SYMBOLS
    assert 0 not in WEIGHTS


def test_check_algebra_detects_all_substitutions_and_transpositions_for_every_code() -> None:
    """Proof for all 2**80 codes at once, by linearity of the check sum over GF(32).

    A substitution at position k by a non-zero difference e changes the sum by
    w_k*e; swapping a != b at positions i, j changes it by (w_i + w_j)*(a + b).
    Both are checked non-zero exhaustively here (addition in GF(32) is XOR).
    """
    nonzero = range(1, 32)
    for weight in WEIGHTS:
        assert all(gf_mul(weight, e) != 0 for e in nonzero)
    for i in range(CODE_SYMBOLS):
        for j in range(i + 1, CODE_SYMBOLS):
            for a in range(32):
                for b in range(32):
                    if a != b:
                        assert gf_mul(WEIGHTS[i], a) ^ gf_mul(WEIGHTS[j], b) != gf_mul(WEIGHTS[i], b) ^ gf_mul(
                            WEIGHTS[j], a
                        )


def test_gf_mul_is_a_field_multiplication() -> None:
    elements = range(32)
    for a in elements:
        assert gf_mul(a, 1) == a
        assert gf_mul(a, 0) == 0
        if a:
            assert sorted(gf_mul(a, b) for b in range(1, 32)) == list(range(1, 32))  # invertible
        for b in elements:
            assert gf_mul(a, b) == gf_mul(b, a)
            for c in (3, 17, 30):
                assert gf_mul(a, b ^ c) == gf_mul(a, b) ^ gf_mul(a, c)


def test_every_single_symbol_substitution_is_mistyped() -> None:
    for code in sample_codes(300):
        symbols = symbols_of(code)
        for position in range(CODE_SYMBOLS):
            for replacement in ALPHABET:
                if replacement == symbols[position]:
                    continue
                typo = symbols[:position] + replacement + symbols[position + 1 :]
                assert check(typo) is CodeCheck.MISTYPED, (code, typo)


def test_every_transposition_of_different_symbols_is_mistyped() -> None:
    for code in sample_codes(300):
        symbols = list(symbols_of(code))
        for i in range(CODE_SYMBOLS):
            for j in range(i + 1, CODE_SYMBOLS):  # adjacent (j == i + 1) and beyond
                if symbols[i] == symbols[j]:
                    continue
                swapped = symbols.copy()
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert check(group("".join(swapped))) is CodeCheck.MISTYPED, (code, swapped)


@given(values_80, st.integers(0, CODE_SYMBOLS - 2))
def test_adjacent_transposition_in_typed_form_is_mistyped(value: int, i: int) -> None:
    symbols = list(symbols_of(encode(value)))
    if symbols[i] == symbols[i + 1]:
        return
    symbols[i], symbols[i + 1] = symbols[i + 1], symbols[i]
    assert check(" ".join(symbols).lower()) is CodeCheck.MISTYPED


# --- malformed input ----------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "----",
        "7K3M-Q9TX-W2HD-R8NP",  # check symbol missing (16 symbols)
        "7K3M-Q9TX-W2HD-R8N",
        "7K3M-Q9TX-W2HD-R8NP-55",  # 18 symbols
        "7K3M-Q9TX-W2HD-R8NP-5-7K3M",
        "7K3M-Q9TX-W2HD-R8NP-U",  # U is not in the alphabet
        "UUUU-UUUU-UUUU-UUUU-U",
        "7K3M-Q9TX-W2HD-R8NP-*",  # Crockford mod-37 check symbols are not used
        "7K3M-Q9TX-W2HD-R8NP-~",
        "7K3M-Q9TX-W2HD-R8NP-$",
        "7K3M-Q9TX-W2HD-R8NP-=",
        "7K3M_Q9TX_W2HD_R8NP_5",
        "7K3M/Q9TX/W2HD/R8NP/5",
        "\u0131" * 17,  # dotless i: uppercases to I, must not sneak in
        "\uff17K3M-Q9TX-W2HD-R8NP-5",  # fullwidth digit
        "7K3M-Q9TX-W2HD-R8NP-5\x00",
    ],
)
def test_malformed_inputs(typed: str) -> None:
    assert check(typed) is CodeCheck.MALFORMED
    with pytest.raises(InvalidCodeError):
        normalise(typed)


def normalise_symbols(typed: str) -> str:
    return "".join(ch for ch in typed if ch not in "- .")


@given(st.text(alphabet=ALPHABET + "ilo- .", max_size=40).filter(lambda t: len(normalise_symbols(t)) != CODE_SYMBOLS))
def test_wrong_length_is_malformed(typed: str) -> None:
    assert check(typed) is CodeCheck.MALFORMED


@given(values_80, st.integers(0, 20), st.characters(exclude_characters=ALPHABET + ALPHABET.lower() + "iloIOL -.\t"))
def test_any_foreign_character_is_malformed(value: int, position: int, foreign: str) -> None:
    code = encode(value)
    assert check(code[:position] + foreign + code[position:]) is CodeCheck.MALFORMED


# --- messages -----------------------------------------------------------------


def test_each_outcome_has_a_message_to_read_aloud() -> None:
    assert CodeCheck.MISTYPED.message == "This code has a typing mistake: please read it again."
    for outcome in CodeCheck:
        assert outcome.message.endswith(".")
    assert len({outcome.message for outcome in CodeCheck}) == len(CodeCheck)
