"""The public names: a change here is a change to the API."""

from __future__ import annotations

import inspect
import subprocess
import sys

import assay


def test_top_level_names():
    assert sorted(assay.__all__) == sorted([
        "AssayError", "Workspace", "__version__", "approx", "as_observations", "as_records", "assertions", "audit",
        "check", "curate", "engine", "exceptions", "geometry", "io", "learned", "report", "sql", "tables", "tracking",
        "validate",
    ])
    for name in assay.__all__:
        assert hasattr(assay, name)


def test_subpackage_names():
    assert set(assay.io.__all__) >= {"read_mot", "read_kitti_tracking", "read_kitti_detections",
                                     "read_coco", "read_records", "write_mot", "write_parquet",
                                     "find_mot_sequences", "MotSequence", "FrameImages", "data_uri",
                                     "video_frames", "read_coco_results", "read_yolo", "read_yolo_names",
                                     "read_nuscenes", "NuScenesTables", "to_ego_frame", "to_world_frame"}
    assert set(assay.assertions.__all__) >= {"check", "Monitor", "apply_fixes", "diff_runs",
                                             "point_assertion", "temporal_assertion", "Flicker", "Gap"}
    assert set(assay.approx.__all__) >= {"select", "SelectionResult", "aggregate", "AggregateResult",
                                         "ColumnOracle", "HumanOracle", "sql", "explain", "SqlResult"}
    assert assay.sql is assay.approx.sql
    assert set(assay.store.identity.__all__) >= {"record_keys", "file_identity", "frame_identity",
                                                 "function_identity", "describe_input"}
    assert set(assay.curate.__all__) >= {"rank_frames", "Campaign", "simulate", "bal_rewards", "to_labelstudio",
                                         "to_cvat", "to_mot", "import_verdicts", "verdict_oracle", "BAL",
                                         "ErrorOracle", "RandomFrames", "Uncertainty", "AssertionsUniform"}
    assert set(assay.audit.__all__) >= {"find_missing_labels", "find_unlikely_tracks", "find_label_issues"}
    assert set(assay.report.__all__) >= {"report", "draw_finding", "frame_svg", "finding_window",
                                         "factor_bars"}
    for mod in (assay.io, assay.assertions, assay.geometry, assay.tracking, assay.tables, assay.approx,
                assay.audit, assay.curate, assay.learned, assay.report):
        for name in mod.__all__:
            assert hasattr(mod, name), (mod.__name__, name)


def test_report_is_the_package_and_the_function():
    import assay.report.draw as draw
    from assay.report import report

    assert callable(assay.report) and assay.report.report is report
    assert assay.report.draw is draw  # still the package holding the drawing module
    assert list(inspect.signature(assay.report).parameters)[:2] == ["workspace", "path"]


def test_errors_inherit_builtins():
    from assay import exceptions as e

    assert issubclass(e.InvalidParameterError, ValueError)
    assert issubclass(e.DataFormatError, ValueError)
    assert issubclass(e.DataFileNotFoundError, FileNotFoundError)
    assert issubclass(e.WorkspaceLockedError, RuntimeError)
    assert all(issubclass(getattr(e, n), e.AssayError) for n in e.__all__ if n != "AssayWarning")


def test_warnings_have_one_root():
    from assay import exceptions as e

    assert "AssayWarning" in e.__all__
    assert issubclass(e.AssayWarning, UserWarning) and not issubclass(e.AssayWarning, e.AssayError)


def test_import_has_no_side_effects():
    code = ("import logging, warnings, numpy as np; before = np.random.get_state()[1][:3].tolist();"
            "import assay; assert np.random.get_state()[1][:3].tolist() == before;"
            "assert not logging.getLogger().handlers; print('ok')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "ok"
