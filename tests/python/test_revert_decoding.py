from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from vcl.revert import ErrorDecoder

LIEN_EXISTS = {
    "type": "error",
    "name": "RegistryLienExists",
    "inputs": [
        {"name": "vehicleId", "type": "bytes32"},
        {"name": "loanId", "type": "uint256"},
        {"name": "bank", "type": "address"},
    ],
}


def _data(signature: str, types: list[str], values: list[object]) -> bytes:
    return function_signature_to_4byte_selector(signature) + encode(types, values)


def test_custom_error_name_and_arguments() -> None:
    decoder = ErrorDecoder([LIEN_EXISTS])
    bank = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
    data = _data(
        "RegistryLienExists(bytes32,uint256,address)",
        ["bytes32", "uint256", "address"],
        [b"\x01" * 32, 7, bank],
    )
    assert decoder.decode("0x" + data.hex()) == ("RegistryLienExists", (b"\x01" * 32, 7, bank))


def test_require_string_and_panic() -> None:
    decoder = ErrorDecoder([])
    assert decoder.decode(_data("Error(string)", ["string"], ["no"])) == ("Error", ("no",))
    assert decoder.decode(_data("Panic(uint256)", ["uint256"], [0x11])) == ("Panic", (0x11,))


def test_unknown_or_garbled_data_is_reported_undecoded() -> None:
    decoder = ErrorDecoder([LIEN_EXISTS])
    assert decoder.decode("0xdeadbeef") == ("", ())
    assert decoder.decode("0x") == ("", ())
    truncated = _data("RegistryLienExists(bytes32,uint256,address)", ["bytes32"], [b"\x01" * 32])
    assert decoder.decode(truncated) == ("", ())
