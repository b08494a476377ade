"""Model versions: a keccak256 of the canonical parameters, stable under formatting and
metadata, different after any change of any parameter; files that lie are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oracle.errors import ModelError
from oracle.model import (
    DEFAULT_MODEL_PATH,
    ModelParameters,
    ScoreModel,
    canonical_json,
    load_model,
    model_version,
    save_model,
)


def leaves(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in leaves(tree[key], (*path, key))]
    if isinstance(tree, list):
        return [leaf for i, item in enumerate(tree) for leaf in leaves(item, (*path, i))]
    return [path]


def with_leaf(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(tree))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def test_version_is_32_bytes_and_stable(default_model: ScoreModel, tmp_path: Path) -> None:
    assert len(default_model.version) == 32
    assert default_model.version_hex == "0x" + default_model.version.hex()
    # Reformatted, keys reordered, metadata changed: the same parameters, the same version.
    document = json.loads(DEFAULT_MODEL_PATH.read_text())
    document["metadata"] = {"note": "edited comment"}
    document["parameters"] = dict(reversed(list(document["parameters"].items())))
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document, indent=7))
    assert load_model(path).version == default_model.version
    assert load_model().version == default_model.version


def test_every_parameter_changes_the_version(default_model: ScoreModel) -> None:
    """Change each integer parameter by one (weights move in pairs to keep the sum): each
    change gives a version never seen before."""
    dumped = default_model.parameters.model_dump(mode="json")
    seen = {default_model.version}
    changed = 0
    for path in leaves(dumped):
        value = dumped
        for key in path:
            value = value[key]
        if not isinstance(value, int):
            continue
        tree = with_leaf(dumped, path, value + 1)
        if path[-1] == "weight":
            other = 1 if path[1] == 0 else 0
            tree["indicators"][other]["weight"] -= 1
        parameters = ModelParameters.model_validate_json(json.dumps(tree))
        version = ScoreModel(parameters=parameters).version
        assert version not in seen, path
        seen.add(version)
        changed += 1
    assert changed >= 12 * 3 + 10  # weights, bounds, and the scoring/valuation parameters


def test_canonical_json_is_compact_sorted_ascii(default_model: ScoreModel) -> None:
    text = canonical_json(default_model.parameters).decode("ascii")
    assert " " not in text
    assert text.startswith('{"format":"vcl-oracle-model/1","parameters":{"indicators":[{"best":')


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["parameters"]["indicators"][0].update(weight=901), "sum to 10001"),
        (lambda d: d["parameters"]["indicators"][0].update(best=0.5), "integer"),
        (lambda d: d["parameters"]["indicators"].reverse(), "in this order"),
        (lambda d: d["parameters"]["indicators"][7].update(best=-1), "best must lie above"),
        (lambda d: d["parameters"]["scoring"].update(window_days=0), "greater than 0"),
        (lambda d: d.update(format="other/2"), "not a model file"),
    ],
)
def test_invalid_models_are_refused(tmp_path: Path, edit: Any, message: str) -> None:
    document = json.loads(DEFAULT_MODEL_PATH.read_text())
    document.pop("version")
    edit(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_edited_parameters_with_the_old_version_are_refused(tmp_path: Path) -> None:
    document = json.loads(DEFAULT_MODEL_PATH.read_text())
    document["parameters"]["valuation"]["condition_floor_bps"] += 1
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ModelError, match="does not match"):
        load_model(path)


def test_save_and_load_round_trip(default_model: ScoreModel, tmp_path: Path) -> None:
    path = save_model(default_model, tmp_path)
    assert path.name == f"{default_model.version_hex}.json"
    assert load_model(path) == default_model
    assert json.loads(path.read_text())["version"] == default_model.version_hex


def test_a_json_path_is_written_as_that_file(default_model: ScoreModel, tmp_path: Path) -> None:
    """`vcl oracle calibrate --out FILE` writes FILE, not a directory of that name."""
    path = save_model(default_model, tmp_path / "models" / "candidate.json")
    assert path == tmp_path / "models" / "candidate.json"
    assert path.is_file()
    assert load_model(path) == default_model


def test_a_copy_with_other_parameters_has_its_own_version(default_model: ScoreModel) -> None:
    """The version and weights are cached on the (frozen) model; a copy computes them anew."""
    params = default_model.parameters
    valuation = params.valuation.model_copy(update={"condition_slope_bps": 1})
    changed = params.model_copy(update={"valuation": valuation})
    copy = default_model.model_copy(update={"parameters": changed})
    assert copy.version == model_version(changed) != default_model.version
