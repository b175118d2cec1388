"""The synth split by job (issue 15): every name `facialmmt.synth` exported before the split is still importable from it,
and the moved private helpers that other code uses are where their users import them from."""
import importlib

# facialmmt.synth.__all__ as it was when synth.py was one 1,115-line module (commit 6a95f56)
OLD_ALL = ('GENERATOR_VERSION', 'LEADS', 'PASSER_NAMES', 'HAIR_STYLES', 'SPRITE_W', 'SPRITE_H', 'FACE_CX', 'FACE_CY',
           'MOUTH_LEVELS', 'YAW_BINS', 'EXPRESSION_PARAMS', 'SPECULAR', 'SR', 'PROSODY', 'EMOTION_CUES',
           'TEXT_MODES', 'NEUTRAL_MISLEADING', 'MELD_PRIOR', 'SENTIMENT', 'SPLITS', 'CONFUSABLE', 'DFER_SPLITS',
           'MELD_COLUMNS_SYN', 'SYNTH_PRESETS', 'DFER_HEADER', 'Identity', 'make_cast', 'mouth_opening',
           'lip_gap_px', 'render_head', 'face_box', 'synth_speech', 'energy_envelope', 'make_text', 'SynthPreset',
           'plan_corpus', 'render_clip', 'render_dfer_video', 'generate', 'is_complete', 'default_root',
           'ensure_corpus', 'synth_main', 'load_ground_truth', 'box_iou', 'match_boxes', 'measure_faces',
           'utterance_features', 'run_probes', 'class_distribution', 'corpus_stats', 'datasheet',
           'datasheet_markdown')


def test_every_name_synth_exported_before_is_still_importable_from_it():
    synth = importlib.import_module("facialmmt.synth")
    missing = [n for n in OLD_ALL if not hasattr(synth, n)]
    assert not missing, f"facialmmt.synth lost {missing}"


def test_each_name_is_defined_once_and_re_exported_unchanged():
    "A re-exported name is the part's own object (no copy that could drift), and each part defines its own names."
    synth = importlib.import_module("facialmmt.synth")
    parts = [importlib.import_module(f"facialmmt.{m}") for m in ("synth_heads", "synth_voice", "synth_scenes", "synth_datasheet")]
    owners = {}
    for p in parts + [synth]:
        for n in p.__all__:
            assert n not in owners, f"{n} in both {owners.get(n)} and {p.__name__}"
            owners[n] = p.__name__
            assert getattr(synth, n) is getattr(p, n), n
    assert set(OLD_ALL) <= set(owners)


def test_private_helpers_where_their_users_import_them():
    from facialmmt.synth_datasheet import _audio_feature   # nbs/05a_mario.ipynb
    from facialmmt.synth_scenes import _paste, _class_counts   # tests/test_reliability_inputs.py, 00b/00bc tests
    assert callable(_audio_feature) and callable(_paste) and _class_counts(10, {"a": 0.5, "b": 0.5}) == {"a": 5, "b": 5}
