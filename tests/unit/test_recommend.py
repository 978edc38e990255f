"""Recommendations on real MovieLens ratings: held-out quality, genre structure, determinism, API.

The model is trained once per test session with the disk cache off (``movielens_rec`` in
tests/conftest.py), so these tests measure a real fit, not a file left by an earlier run.
Figures at the defaults (RatingParams(), seed 0), printed by ``benchmarks/recommend.py`` too:
RMSE 0.881 on the random 10% split; recall@10 learned 0.077, average 0.074, popularity 0.067;
NDCG@10 0.072, 0.073, 0.061; genre agreement of the 10 nearest films 0.149 (learned) vs 0.083
(one-hot) on the 1,303 films with >= 20 ratings, 0.173 vs 0.084 on the 453 with >= 50.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from viz_app.data.model import EmbeddingSet
from viz_app.data.ratings import LIKED, index_ratings, learned_movies, load_movielens
from viz_app.embed.rating_store import RatingModelStore, fit_ratings_cached
from viz_app.embed.ratings import RatingParams, fit_ratings
from viz_app.errors import DataFormatError, ParameterError, UnknownIdError
from viz_app.explore.recommend import train_recommender
from viz_app.explore.recommend_eval import chance_agreement, one_hot_vs_learned, random_split, temporal_split
from viz_app.explore.recommend_map import recommendation_map
from viz_app.reduce import make_params
from viz_app.reduce.project import project_with


@pytest.fixture(scope="session")
def evaluation(movielens_rec):
    return movielens_rec.evaluate().set_index("method")


def test_movielens_loads_from_the_package():
    df = load_movielens()
    assert df.shape == (100_004, 7)
    assert df["userId"].nunique() == 671 and df["movieId"].nunique() == 9_066
    assert df["rating"].min() == 0.5 and df["rating"].max() == 5.0
    assert list(df.columns) == ["movieId", "title", "year", "genres", "userId", "rating", "timestamp"]


def test_rmse_on_the_random_10_percent_split_is_at_most_0_90(evaluation):
    rmse = evaluation.loc["learned", "rmse"]
    print(f"RMSE on the random 10% split: {rmse:.4f}")
    assert rmse <= 0.90
    assert np.isnan(evaluation.loc["popularity", "rmse"]) and np.isnan(evaluation.loc["average", "rmse"])


def test_learned_user_vectors_beat_popularity_on_recall_at_10(evaluation):
    print(evaluation.to_string())
    recall, ndcg = evaluation["recall@10"], evaluation["ndcg@10"]
    assert recall["learned"] > recall["popularity"]
    assert ndcg["learned"] > ndcg["popularity"]
    assert recall["average"] > 0.5 * recall["popularity"]  # a real signal, not noise
    assert set(evaluation["users"]) == {656}  # users with a held-out rating >= 4


def test_learned_neighbours_share_the_main_genre_far_more_often_than_one_hot(movielens_rec):
    t20 = one_hot_vs_learned(movielens_rec.items, min_ratings=20).set_index("vectors")
    t50 = one_hot_vs_learned(movielens_rec.items, min_ratings=50).set_index("vectors")
    print(t20.to_string(), t50.to_string(), sep="\n")
    for t in (t20, t50):
        # one-hot vectors are all at cosine 0: their neighbours agree by chance only
        assert abs(t.loc["one-hot", "agreement"] - t.loc["one-hot", "chance"]) < 0.02
    assert t20.loc["learned", "items"] == 1_303 and t50.loc["learned", "items"] == 453
    assert t20.loc["learned", "agreement"] >= 1.75 * t20.loc["one-hot", "agreement"]  # 0.149 vs 0.083
    assert t50.loc["learned", "agreement"] >= 2.0 * t50.loc["one-hot", "agreement"]  # 0.173 vs 0.084


def test_chance_agreement_is_the_expected_share():
    assert chance_agreement(np.array(["a", "a", "b", "b"], dtype=object)) == pytest.approx(1 / 3)


def test_training_is_deterministic_with_a_seed(movielens_rec):
    import torch

    state, threads = torch.get_rng_state(), torch.get_num_threads()
    ix = movielens_rec.index
    again = fit_ratings(ix.users, ix.items, ix.ratings, n_users=ix.shape[0], n_items=ix.shape[1])
    assert np.array_equal(again.item_vectors, movielens_rec.items.vectors)
    assert np.array_equal(again.user_vectors, movielens_rec.users.vectors)
    assert np.array_equal(again.item_bias, movielens_rec.model.item_bias)
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()
    other = fit_ratings(
        ix.users,
        ix.items,
        ix.ratings,
        n_users=ix.shape[0],
        n_items=ix.shape[1],
        params=RatingParams(epochs=1, random_state=1),
    )
    assert not np.array_equal(other.item_vectors, again.item_vectors)


def test_recommendations_never_include_a_rated_film(movielens_rec):
    ix = movielens_rec.index
    for user in ("1", "15", "547"):
        rated = set(movielens_rec.items.ids[ix.items[ix.users == movielens_rec.users.index_of([user])[0]]])
        for method in ("learned", "average"):
            recs = movielens_rec.recommend(user, k=10, method=method)
            assert list(recs.columns) == ["id", "title", "score"] and len(recs) == 10
            assert not set(recs["id"]) & rated
            assert recs["score"].is_monotonic_decreasing
    assert movielens_rec.recommend(1)["title"].iloc[0] == "Godfather, The (1972)"


def test_recommend_errors(movielens_rec):
    with pytest.raises(UnknownIdError, match="user '999999' is not in the ratings"):
        movielens_rec.recommend("999999")
    with pytest.raises(ParameterError, match="method must be one of"):
        movielens_rec.recommend(1, method="cosine")
    with pytest.raises(ParameterError, match="k must be an integer"):
        movielens_rec.recommend(1, k=0)
    with pytest.raises(ParameterError, match="at least one liked film"):
        movielens_rec.recommend_for_items([])


def test_more_like_this_and_profiles_of_liked_films(movielens_rec):
    star_wars = movielens_rec.similar_items(260, k=5)["title"].tolist()
    assert set(star_wars[:2]) == {
        "Star Wars: Episode V - The Empire Strikes Back (1980)",
        "Star Wars: Episode VI - Return of the Jedi (1983)",
    }
    assert "Toy Story 2 (1999)" in movielens_rec.similar_items("1", k=5)["title"].tolist()
    liked = ["1", "2355", "3114"]  # Toy Story, A Bug's Life, Toy Story 2
    recs = movielens_rec.recommend_for_items(liked, k=10)
    assert not set(recs["id"]) & set(liked)
    assert "Finding Nemo (2003)" in recs["title"].tolist()
    why = movielens_rec.because(liked, recs["id"], n=2)
    assert len(why) == 10 and all(
        len(b) == 2
        and set(b) <= {"Toy Story (1995)", "A Bug's Life (1998)", "Toy Story 2 (1999)", "Bug's Life, A (1998)"}
        for b in why["because"]
    )


def test_the_result_is_an_embedding_set_like_any_other(movielens_rec):
    items, users = movielens_rec.items, movielens_rec.users
    assert isinstance(items, EmbeddingSet) and items.vectors.shape == (9_066, 32) and items.vectors.dtype == np.float32
    assert users.vectors.shape == (671, 32) and users.ids[0] == "1" and users.labels[0] == "user 1"
    row = items.index_of(["1"])[0]
    meta = items.metadata.iloc[row]
    assert items.labels[row] == "Toy Story (1995)" and meta["main_genre"] == "Animation"
    assert meta["n_ratings"] == 247 and meta["mean_rating"] == pytest.approx(3.8725, abs=1e-4)
    assert {"title", "year", "genres", "main_genre", "n_ratings", "mean_rating"} <= set(items.metadata.columns)
    assert set(users.metadata.columns) == {"n_ratings", "mean_rating", "n_liked"}
    rated = movielens_rec.rated(1)
    assert len(rated) == 20 and rated["rating"].is_monotonic_decreasing


def test_splits_are_reproducible_and_hold_out_what_they_say(movielens_rec):
    ix = movielens_rec.index
    held = temporal_split(ix)
    counts = np.bincount(ix.users, minlength=ix.shape[0])
    assert np.array_equal(np.bincount(ix.users[held], minlength=ix.shape[0]), np.floor(0.2 * counts))
    for u in (0, 14):  # every held-out rating is at least as late as every kept one
        mine = ix.users == u
        assert ix.timestamps[mine & held].min() >= ix.timestamps[mine & ~held].max()
    rand = random_split(ix, random_state=0)
    assert rand.sum() == 10_000 and np.array_equal(rand, random_split(ix, random_state=0))
    assert not np.array_equal(rand, random_split(ix, random_state=1))


def test_the_sample_is_the_recommenders_items_read_back_from_the_disk_cache(movielens_rec, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_RECOMMENDER_CACHE", str(tmp_path))
    ix, model = movielens_rec.index, movielens_rec.model
    store = RatingModelStore()
    store.put(store.key(ix.users, ix.items, ix.ratings.astype(np.float32), ix.shape, RatingParams()), model)
    assert [p.suffix for p in sorted(tmp_path.iterdir())] == [".json", ".npz"]
    sample = learned_movies()  # would train for ~20 s if the key did not match
    rows = movielens_rec.items.index_of(sample.ids)
    assert sample.n_samples == 1_303 and (sample.metadata["n_ratings"] >= 20).all()
    assert np.array_equal(sample.vectors, movielens_rec.items.vectors[rows])


def test_the_model_store_never_unpickles_and_misses_on_bad_files(tmp_path):
    store = RatingModelStore(tmp_path)
    params = RatingParams(epochs=1)
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "k.npz").write_bytes((tmp_path / "x.npy").read_bytes())
    (tmp_path / "k.json").write_text("{}")
    assert store.get("k", (2, 2), params) is None
    u, i, r = np.array([0, 1]), np.array([1, 0]), np.array([4.0, 2.0])
    first = fit_ratings_cached(u, i, r, n_users=2, n_items=2, params=params, store=store)
    second = fit_ratings_cached(u, i, r, n_users=2, n_items=2, params=params, store=store)
    assert np.array_equal(first.item_vectors, second.item_vectors)
    assert store.get(store.key(u, i, r.astype(np.float32), (2, 2), params), (3, 2), params) is None  # shape mismatch


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns=["timestamp"]), "missing \\['timestamp'\\]"),
        (lambda d: d.assign(rating=d["rating"].where(d.index != 3, np.nan)), "row 4, column 'rating': not a finite"),
        (lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True), "row 6: user 1 rates movie 31 more than once"),
        (lambda d: d.iloc[:0], "no rows"),
    ],
)
def test_bad_ratings_tables_are_refused_with_the_row_and_column(change, message):
    small = load_movielens().iloc[:5]
    with pytest.raises(DataFormatError, match=message):
        index_ratings(change(small))


@pytest.mark.parametrize(
    "bad", [{"dim": 0}, {"epochs": 1.5}, {"learning_rate": 0.0}, {"l2_vectors": -1.0}, {"missing_weight": float("nan")}]
)
def test_bad_hyperparameters_are_refused(bad):
    with pytest.raises(ParameterError):
        RatingParams(**bad)


def test_recommendation_map_is_plain_data_for_the_live_map(movielens_rec):
    sample = movielens_rec.items.subset(np.flatnonzero(movielens_rec.items.metadata["n_ratings"].to_numpy() >= 20))
    params = make_params("pca", n_components=2, random_state=0)
    proj = project_with(sample.vectors, params, fingerprint=sample.fingerprint)
    m = recommendation_map(movielens_rec, sample, proj, user_id=1)
    assert m.who == "user 1" and m.user_position.shape == (2,) and not m.approximate
    assert m.placement.startswith("PCA transform")
    expected = proj.model.transform(movielens_rec.users.vectors[[0]])[0]
    assert np.allclose(m.user_position, expected, atol=1e-5)
    assert list(m.recommended.columns) == ["rank", "id", "title", "score", "row", "label"]
    assert m.recommended["label"].iloc[0] == "1. Godfather, The (1972)"
    assert np.array_equal(sample.ids[m.highlight_rows], m.recommended.loc[m.recommended["row"] >= 0, "id"])
    assert set(m.rated["id"]) <= set(sample.ids) and (m.rated["rating"] >= 0.5).all()
    p = recommendation_map(movielens_rec, sample, proj, liked_ids=["1", "3114"])
    assert p.who == "your profile (2 films)" and p.method == "average" and p.rated["rating"].isna().all()
    with pytest.raises(ParameterError, match="exactly one"):
        recommendation_map(movielens_rec, sample, proj)
    other = EmbeddingSet(sample.vectors + 1, ids=sample.ids)
    with pytest.raises(ParameterError, match="not made of this recommender's item vectors"):
        recommendation_map(movielens_rec, other, proj, user_id=1)


def test_train_recommender_applies_dim_and_seed_over_params():
    small = load_movielens()
    small = small[small["userId"] <= 20]
    rec = train_recommender(small, dim=8, random_state=3, params=RatingParams(epochs=2), cache=False)
    assert rec.items.n_features == 8 and rec.params == dataclasses.replace(
        RatingParams(epochs=2), dim=8, random_state=3
    )
    assert (rec.index.ratings >= 0.5).all() and LIKED == 4.0
