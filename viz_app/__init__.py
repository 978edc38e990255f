"""Embedding Lens: load or embed vectors, project them to 2-D/3-D, and explore the map.

Usable from a notebook without Streamlit::

    import viz_app
    es = viz_app.load("sample_data/words.csv")            # or .npy, .npz, .parquet, .tsv, .txt
    proj = viz_app.project(es, reducer="umap", n_components=2, random_state=0)
    proj.coords.shape                                     # (n_samples, 2) float32
"""

from __future__ import annotations

from viz_app._version import __version__
from viz_app.data.io import FORMATS, RawData, load, read, to_embedding_set
from viz_app.data.model import EmbeddingSet
from viz_app.data.ratings import load_movielens
from viz_app.data.samples import PAIRS, SAMPLES, load_pair, load_sample
from viz_app.data.texts import embed_texts
from viz_app.embed import DEFAULT_MODEL, available_encoders, encode, register_encoder
from viz_app.embed.ratings import RatingModel, RatingParams
from viz_app.errors import (
    DataFormatError,
    ExpressionError,
    MissingDependencyError,
    ParameterError,
    ResourceLimitError,
    UnknownIdError,
    VizAppError,
)
from viz_app.explore.analogy import AnalogyResult, evaluate_analogies, read_analogies
from viz_app.explore.arithmetic import Operand, Vector, evaluate, mean_vector, operands, parse, vector
from viz_app.explore.axes import AxesProjection, axis_projection
from viz_app.explore.clusters import Clustering, centroids_2d, cluster, cluster_table, keywords
from viz_app.explore.compare import Comparison, compare, linear_cka, procrustes_disparity
from viz_app.explore.neighbors import knn_indices, most_similar
from viz_app.explore.place import ExpressionOnMap, Placement, expression_on_map, place
from viz_app.explore.recommend import Recommender, train_recommender
from viz_app.explore.recommend_eval import one_hot_vs_learned
from viz_app.explore.recommend_map import RecommendationMap, recommendation_map
from viz_app.explore.search import search
from viz_app.explore.trust import TrustReport
from viz_app.export.comparison import export_comparison
from viz_app.export.figure import export_figure, figure_bytes, report_figure
from viz_app.export.plotly_map import scatter_map
from viz_app.export.projector import export_projector, export_table, load_projector
from viz_app.export.settings import check_fingerprint, load_settings, params_from_settings, save_settings, settings_for
from viz_app.map.compare import LinkedMaps, linked_maps, project_pair
from viz_app.map.trust import trust
from viz_app.reduce import REDUCERS, Projection, ProjectionParams, make_params, warm_up
from viz_app.reduce.project import project, transform, trustworthiness

__all__ = [
    "DEFAULT_MODEL",
    "FORMATS",
    "PAIRS",
    "REDUCERS",
    "SAMPLES",
    "AnalogyResult",
    "AxesProjection",
    "Clustering",
    "Comparison",
    "DataFormatError",
    "EmbeddingSet",
    "ExpressionError",
    "ExpressionOnMap",
    "LinkedMaps",
    "MissingDependencyError",
    "Operand",
    "ParameterError",
    "Placement",
    "Projection",
    "ProjectionParams",
    "RatingModel",
    "RatingParams",
    "RawData",
    "RecommendationMap",
    "Recommender",
    "ResourceLimitError",
    "TrustReport",
    "UnknownIdError",
    "Vector",
    "VizAppError",
    "__version__",
    "available_encoders",
    "axis_projection",
    "centroids_2d",
    "check_fingerprint",
    "cluster",
    "cluster_table",
    "compare",
    "embed_texts",
    "encode",
    "evaluate",
    "evaluate_analogies",
    "export_comparison",
    "export_figure",
    "export_projector",
    "export_table",
    "expression_on_map",
    "figure_bytes",
    "keywords",
    "knn_indices",
    "linear_cka",
    "linked_maps",
    "load",
    "load_movielens",
    "load_pair",
    "load_projector",
    "load_sample",
    "load_settings",
    "make_params",
    "mean_vector",
    "most_similar",
    "one_hot_vs_learned",
    "operands",
    "params_from_settings",
    "parse",
    "place",
    "procrustes_disparity",
    "project",
    "project_pair",
    "read",
    "read_analogies",
    "recommendation_map",
    "register_encoder",
    "report_figure",
    "save_settings",
    "scatter_map",
    "search",
    "settings_for",
    "to_embedding_set",
    "train_recommender",
    "transform",
    "trust",
    "trustworthiness",
    "vector",
    "warm_up",
]
