"""The miniature experiment built on the library: the pretrained tiny VLM (pretrain), the main job (demo), its analyses
(analysis, weighting), the paper beside it (paper) and the project's history (history). The library never imports it."""
