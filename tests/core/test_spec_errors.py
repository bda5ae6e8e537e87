"""Bad specs give one readable error with the YAML line and the fix; nothing runs or is written."""

import subprocess
import sys
from pathlib import Path

import pytest

import geoatlas as ga
from geoatlas.errors import SpecError

GOOD = """\
name: small
seed: 0
data:
  dataset: sklearn_iris
models:
  mlp:
    encoder: mlp
    params: {hidden: [8]}
train: {epochs: 2}
"""


def _err(text: str) -> str:
    with pytest.raises(SpecError) as info:
        ga.Pipeline.from_yaml(text).validate()
    return str(info.value)


def test_good_spec_validates():
    spec = ga.Pipeline.from_yaml(GOOD).validate()
    assert spec.all_models()["mlp"].encoder == "mlp"


def test_misspelled_component_names_line_and_suggestion():
    msg = _err(GOOD.replace("encoder: mlp", "encoder: mlpp"))
    assert "line 7 (models.mlp.encoder)" in msg and "Did you mean 'mlp'" in msg and "Valid encoder names" in msg
    msg = _err(GOOD.replace("sklearn_iris", "sklearn_irs"))
    assert "line 4 (data.dataset)" in msg and "sklearn_iris" in msg


def test_misspelled_key():
    msg = _err(GOOD.replace("train: {epochs: 2}", "train: {epoch: 2}"))
    assert "line 9 (train.epoch)" in msg and "Did you mean 'epochs'" in msg and "Valid keys here" in msg
    msg = _err(GOOD.replace("seed: 0", "sead: 0"))
    assert "line 2 (sead)" in msg and "Did you mean 'seed'" in msg


def test_misspelled_component_parameter():
    msg = _err(GOOD.replace("hidden: [8]", "hiden: [8]"))
    assert "line 8 (models.mlp.params.hiden)" in msg and "Did you mean 'hidden'" in msg and "Valid parameters" in msg


def test_wrong_types():
    msg = _err(GOOD.replace("epochs: 2", "epochs: two"))
    assert "line 9 (train.epochs)" in msg and "valid integer" in msg
    msg = _err(GOOD.replace("hidden: [8]", "hidden: lots"))
    assert "line 8 (models.mlp.params.hidden)" in msg and "expects" in msg


def test_missing_file():
    text = GOOD.replace("dataset: sklearn_iris", "dataset: local_arrays\n  params: {path: /no/such/file.npz}")
    msg = _err(text)
    assert "line 5 (data.params.path)" in msg and "does not exist" in msg


def test_python_tags_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    text = GOOD + f"description: !!python/object/apply:os.system ['touch {marker}']\n"
    msg = _err(text)
    assert "line 10" in msg and "safe loader" in msg
    assert not marker.exists()


def test_duplicate_keys_and_exclusive_fields():
    assert "appears twice" in _err(GOOD + "seed: 1\n")
    assert "either `model:` or `models:`" in _err(GOOD + "model: {classifier: svc}\n")


def test_cli_error_is_one_paragraph_without_traceback(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(GOOD.replace("encoder: mlp", "encoder: mlpp"))
    out = subprocess.run([sys.executable, "-m", "geoatlas.cli", "run", str(spec), "--runs-root", str(tmp_path / "runs")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "Did you mean 'mlp'" in out.stderr
    assert not (tmp_path / "runs").exists(), "an invalid spec must not create a run directory"


def test_set_overrides(tmp_path):
    p = ga.Pipeline.from_yaml(GOOD, overrides=["train.epochs=1", "models.mlp.params.hidden=[4, 4]"])
    spec = p.validate()
    assert spec.train.epochs == 1 and spec.all_models()["mlp"].params["hidden"] == [4, 4]
    with pytest.raises(SpecError, match="key=value"):
        ga.Pipeline.from_yaml(GOOD, overrides=["train.epochs"])


def test_example_specs_validate():
    from geoatlas.layout import all_builtin_pipelines

    root = Path(__file__).resolve().parents[2] / "examples" / "pipelines"
    specs = sorted(root.glob("*.yaml")) + [p for _, p in all_builtin_pipelines()]
    assert len(specs) > 20
    for f in specs:
        ga.Pipeline.from_yaml(f).validate()
