"""data, encoders and reproduce split by job (issue 15): every name each exported before the split is still importable
from it, each name is defined once and re-exported as the same object, and no module imports another's private names."""
import ast
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "facialmmt"

# each module's __all__ as it was before the split (commit c522c7d), and the modules split off it
OLD_ALL = {
    "data": (('MELD_COLUMNS', 'SPLITS', 'MELD_CLIP_DIRS', 'AFFWILD_SPLITS', 'DataError', 'MediaError', 'ClipInfo',
              'probe_clip', 'iter_frames', 'read_frames', 'read_audio', 'write_clip', 'fix_text', 'Utterance',
              'read_text_file', 'read_meld_csv', 'find_meld_split', 'read_meld', 'group_dialogues', 'FaceSequence',
              'find_affwild', 'find_affwild_images', 'read_affwild_labels', 'read_affwild', 'load_face_image'),
             ("media",)),
    "encoders": (('PACKAGED_TEXT', 'AUDIO_FBANK_NAMES', 'WEIGHT_SUFFIXES', 'SWIN_TIMM_IN1K', 'SWIN_WEIGHT_FILES', 'hub_name',
                  'packaged_text_dir', 'resolve_text_model', 'truncate_dialogue', 'build_text_input', 'pad_text_batch',
                  'text_readout', 'TextEncoder', 'load_text_encoder', 'resolve_audio_model', 'AudioFeaturizer',
                  'load_audio_featurizer', 'describe_models', 'format_models', 'file_sha256', 'weights_sha256',
                  'used_model', 'used_models', 'models_key', 'format_used_models', 'resolve_swin_weights', 'used_swin'),
                 ("model_registry",)),
    "reproduce": (('log', 'CHAIN', 'PRESET_SEEDS', 'PRESET_CONFIG', 'TEST_TAG', 'RunContext', 'Step', 'headline_numbers',
                   'compare_numbers', 'format_comparison', 'make_context', 'is_test_cell', 'chain_notebook',
                   'tag_test_cells', 'run_chain', 'write_results_summary', 'refresh_readme', 'reproduce_main',
                   'publish_notebooks', 'merge_outputs', 'trim_stream', 'docs_sources', 'build_docs'),
                  ("chain", "readme", "publish")),
}


@pytest.mark.parametrize("old", sorted(OLD_ALL))
def test_every_name_exported_before_is_still_importable_from_the_old_module(old):
    mod = importlib.import_module(f"facialmmt.{old}")
    missing = [n for n in OLD_ALL[old][0] if not hasattr(mod, n)]
    assert not missing, f"facialmmt.{old} lost {missing}"


@pytest.mark.parametrize("old", sorted(OLD_ALL))
def test_each_name_is_defined_once_and_re_exported_unchanged(old):
    "A moved name is the part's own object (no copy that could drift); no name is exported by two of the modules."
    mod = importlib.import_module(f"facialmmt.{old}")
    owners = {}
    for p in [importlib.import_module(f"facialmmt.{m}") for m in OLD_ALL[old][1]] + [mod]:
        for n in p.__all__:
            assert n not in owners, f"{n} in both {owners.get(n)} and {p.__name__}"
            owners[n] = p.__name__
            assert getattr(mod, n) is getattr(p, n), n
    assert set(OLD_ALL[old][0]) <= set(owners)


@pytest.mark.parametrize("old", sorted(OLD_ALL))
def test_modules_stay_small(old):
    for m in (old,) + OLD_ALL[old][1]:
        n = len((PKG / f"{m}.py").read_text().splitlines())
        assert n <= 450, f"facialmmt/{m}.py has {n} lines"


def test_no_module_imports_another_modules_private_names():
    bad = []
    for f in sorted(PKG.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("facialmmt")):
                bad += [f"{f.name}: {node.module}.{a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, bad


def test_encoders_still_re_exports_the_face_names_its_users_import_from_it():
    "tests/ and bench/ import these face names from facialmmt.encoders (they live in facialmmt.faces, torch-free)."
    import facialmmt.encoders as enc
    import facialmmt.faces as faces
    for n in ("ModelNotFound", "resolve_frame_model", "CASIA_FILE", "load_face_analyzer", "FaceAnalyzer"):
        assert getattr(enc, n) is getattr(faces, n), n
