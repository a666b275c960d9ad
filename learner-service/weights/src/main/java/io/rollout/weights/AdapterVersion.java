package io.rollout.weights;

import io.rollout.records.WeightManifest;
import java.util.Objects;

/**
 * One complete, verified adapter version as a {@link WeightReader} accepted it: the
 * manifest and the bytes whose length and SHA-256 matched it. The array is shared with
 * every caller and listener, not copied: treat it as read-only.
 */
public record AdapterVersion(WeightManifest manifest, byte[] bytes) {

    public AdapterVersion {
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(bytes, "bytes");
    }

    public long version() {
        return manifest.getVersion();
    }

    @Override
    public String toString() {
        return "AdapterVersion[" + manifest.getAdapter() + " v" + manifest.getVersion() + ", " + bytes.length
                + " bytes, sha256 " + manifest.getSha256() + "]";
    }
}
