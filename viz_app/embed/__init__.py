"""Text -> vectors: sentence-transformers encoders loaded from local folders (offline)."""

from viz_app.embed.encoders import DEFAULT_MODEL, available_encoders, encode, get_encoder, register_encoder

__all__ = ["DEFAULT_MODEL", "available_encoders", "encode", "get_encoder", "register_encoder"]
