package io.rollout.env.api;

import java.util.List;
import java.util.Map;

/** One entry of {@code GET /v1/envs}: an environment and its config keys with defaults. */
public record EnvInfo(String name, String description, Map<String, String> config) {

    /** The body of {@code GET /v1/envs}. */
    public record Listing(List<EnvInfo> envs) {
    }
}
