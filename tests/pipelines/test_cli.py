"""CLI behaviour that needs no pipeline run: config errors are reported with the key, exit 2."""

from pipelines.cli import main


def test_run_with_invalid_config_exits_2_naming_the_key(tmp_path, capsys):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("sources:\n  - {name: x, type: openai}\n")
    assert main(["run", "--config", str(cfg), "--home", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert "sources[0].uri: required" in err and str(cfg) in err
    assert not (tmp_path / "h" / "warehouse").exists()


def test_run_with_missing_config(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
