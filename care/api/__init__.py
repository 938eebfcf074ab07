"""What every API endpoint shares: token authentication, scope/role permissions, error bodies."""
