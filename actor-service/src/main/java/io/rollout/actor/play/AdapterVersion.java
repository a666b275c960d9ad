package io.rollout.actor.play;

import io.rollout.policy.lora.LoraAdapter;

/**
 * A policy version: the adapter the actor samples with and the version number steps carry.
 *
 * @param version the learner's adapter version; 0 is the base model
 * @param adapter the LoRA adapter, or null for the base model
 */
public record AdapterVersion(long version, LoraAdapter adapter) {

    /** The base model: version 0, no adapter. */
    public static final AdapterVersion BASE = new AdapterVersion(0, null);

    public AdapterVersion {
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0, got " + version);
        }
    }
}
