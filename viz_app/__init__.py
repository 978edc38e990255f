"""Embedding Lens: load or embed vectors, project them to 2-D/3-D, and explore the map.

Usable from a notebook without Streamlit::

    import viz_app
    es = viz_app.load("sample_data/words.csv")            # or .npy, .npz, .parquet, .tsv, .txt
    proj = viz_app.project(es, reducer="umap", n_components=2, random_state=0)
    proj.coords.shape                                     # (n_samples, 2) float32
"""

from __future__ import annotations

from viz_app.analogy import AnalogyResult, evaluate_analogies, read_analogies
from viz_app.arithmetic import Operand, Vector, evaluate, mean_vector, operands, parse, vector
from viz_app.axes import AxesProjection, axis_projection
from viz_app.clusters import Clustering, centroids_2d, cluster, cluster_table, keywords
from viz_app.embed import DEFAULT_MODEL, available_encoders, embed_texts, encode, register_encoder
from viz_app.errors import (
    DataFormatError,
    ExpressionError,
    MissingDependencyError,
    ParameterError,
    ResourceLimitError,
    UnknownIdError,
    VizAppError,
)
from viz_app.export import export_figure, figure_bytes, report_figure
from viz_app.export_projector import export_projector, export_table, load_projector
from viz_app.figures import scatter_map
from viz_app.neighbors import knn_indices, most_similar
from viz_app.search import search
from viz_app.settings import check_fingerprint, load_settings, params_from_settings, save_settings, settings_for
from viz_app.io import FORMATS, RawData, load, read, to_embedding_set
from viz_app.model import EmbeddingSet, Projection, ProjectionParams
from viz_app.place import ExpressionOnMap, Placement, expression_on_map, place
from viz_app.project import REDUCERS, make_params, project, transform, trustworthiness, warm_up
from viz_app.samples import SAMPLES, load_sample

__all__ = [
    "EmbeddingSet", "Projection", "ProjectionParams", "RawData",
    "load", "read", "to_embedding_set", "FORMATS",
    "embed_texts", "encode", "register_encoder", "available_encoders", "DEFAULT_MODEL",
    "project", "make_params", "transform", "trustworthiness", "warm_up", "REDUCERS",
    "place", "Placement", "expression_on_map", "ExpressionOnMap",
    "scatter_map", "load_sample", "SAMPLES",
    "most_similar", "knn_indices", "search",
    "cluster", "Clustering", "cluster_table", "keywords", "centroids_2d",
    "Vector", "Operand", "parse", "vector", "operands", "evaluate", "mean_vector",
    "read_analogies", "evaluate_analogies", "AnalogyResult", "axis_projection", "AxesProjection",
    "report_figure", "export_figure", "figure_bytes", "export_table", "export_projector", "load_projector",
    "settings_for", "save_settings", "load_settings", "params_from_settings", "check_fingerprint",
    "VizAppError", "DataFormatError", "ParameterError", "ExpressionError", "UnknownIdError",
    "MissingDependencyError", "ResourceLimitError",
]  # fmt: skip
__version__ = "0.1.0"
