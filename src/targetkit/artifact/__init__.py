"""Artifacts: where they live, how they are downloaded, decoded, validated and cached."""
