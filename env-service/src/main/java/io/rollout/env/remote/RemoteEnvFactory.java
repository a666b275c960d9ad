package io.rollout.env.remote;

import io.rollout.env.EnvironmentFactory;
import java.net.http.HttpClient;
import java.util.Map;
import java.util.Objects;

/**
 * Makes {@link RemoteEnvironment}s for one {@link RemoteEnvSpec}. All environments of a factory
 * share one {@link HttpClient}, so they re-use its connections to the server; several factories
 * may share one client too ({@link #RemoteEnvFactory(RemoteEnvSpec, HttpClient)}).
 */
public final class RemoteEnvFactory implements EnvironmentFactory {

    private final RemoteEnvSpec spec;
    private final RemoteHttp http;

    /** A factory with its own client (HTTP/1.1, the spec's connect timeout). */
    public RemoteEnvFactory(RemoteEnvSpec spec) {
        this(spec, RemoteHttp.newClient(Objects.requireNonNull(spec, "spec")));
    }

    /**
     * A factory on a given client. The client's connect timeout applies to connections; the
     * spec's request timeout applies to every request.
     */
    public RemoteEnvFactory(RemoteEnvSpec spec, HttpClient client) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.http = new RemoteHttp(client, spec);
    }

    /** Parses a spec ({@link RemoteEnvSpec#parse}) and makes its factory; for the {@code --remote SPEC} flag. */
    public static RemoteEnvFactory fromSpec(String text) {
        return new RemoteEnvFactory(RemoteEnvSpec.parse(text));
    }

    public RemoteEnvSpec spec() {
        return spec;
    }

    @Override
    public String name() {
        return spec.name();
    }

    @Override
    public String description() {
        return "Remote environment served at " + spec.url() + " (" + spec.protocol().preset() + " protocol).";
    }

    /** None: the task is chosen by the seed, everything else by the server and the spec. */
    @Override
    public Map<String, String> configDefaults() {
        return Map.of();
    }

    @Override
    public RemoteEnvironment create() {
        return new RemoteEnvironment(spec, http);
    }
}
