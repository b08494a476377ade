import pytest

from vcl.vin import InvalidVin, model_year, model_year_code, normalize_vin, vehicle_id

# Real-world VINs with valid check digits (NHTSA's documented example and a Honda).
VALID = ["1M8GDM9AXKP042788", "1HGCM82633A004352"]
SECRET = b"consortium-secret-0123456789"


@pytest.mark.parametrize("vin", VALID)
def test_valid_vins_normalize(vin: str) -> None:
    assert normalize_vin(f"  {vin.lower()} ") == vin


def test_wrong_check_digit_names_both_digits() -> None:
    with pytest.raises(InvalidVin, match=r"check digit .* is 7, the VIN computes X"):
        normalize_vin("1M8GDM9A7KP042788")


@pytest.mark.parametrize(
    ("vin", "message"),
    [
        ("1M8GDM9AXKP04278", "has 16"),
        ("1M8GDM9AXKP0427888", "has 18"),
        ("1M8GDM9AXKPO42788", "not allowed in a VIN: O"),
        ("IM8GDM9AXKP042788", "not allowed in a VIN: I"),
    ],
)
def test_malformed_vins_are_refused(vin: str, message: str) -> None:
    with pytest.raises(InvalidVin, match=message):
        normalize_vin(vin)


def test_vehicle_id_is_keyed_and_hides_the_vin() -> None:
    first = vehicle_id(VALID[0], SECRET)
    assert first == vehicle_id(VALID[0].lower(), SECRET)
    assert len(first) == 32
    assert first != vehicle_id(VALID[0], b"another-consortium-secret")
    assert VALID[0].encode() not in first


def test_the_model_year_is_the_latest_year_its_code_can_name() -> None:
    assert model_year("1HGCM82633A004352", latest=2027) == 2003  # "3": 2003, not 2033
    assert model_year("1HGCM8263A0043520", latest=2027) == 2010  # "A": 2010, not 1980
    assert model_year("1HGCM8263A0043520", latest=2009) == 1980
    assert model_year("LSVAU2180N2183294", latest=2027) == 2022  # "N"
    assert model_year("LSVAU2180Z2183294", latest=2027) is None  # Z is no model year
    assert all(
        model_year_code(year) == code for year, code in [(2010, "A"), (2026, "T"), (2031, "1")]
    )
