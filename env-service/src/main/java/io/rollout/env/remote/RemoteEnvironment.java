package io.rollout.env.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.Environment;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.env.remote.RemoteEnvSpec.AnchorMode;
import io.rollout.env.remote.RemoteHttp.MalformedAnswer;
import io.rollout.env.remote.RemoteHttp.Safety;
import io.rollout.env.remote.RemoteProtocol.ActionSource;
import io.rollout.env.remote.RemoteProtocol.WonRule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;

/**
 * An environment played on an AgentGym-style environment server. The first {@link #reset}
 * creates one server-side environment ({@code POST /create}); every reset re-uses it
 * ({@code POST /reset} with the task index {@link RemoteEnvSpec#indexFor(long) mapped from the seed});
 * {@link #step} posts the action ({@code POST /step}); {@link #close} releases it
 * ({@code POST /close}, where the server has the route).
 *
 * <p>The observation's text and anchor are the server's observation as it sends it (for ALFWorld the
 * task and room description after a reset, the feedback of the action after a step), see
 * {@link AnchorMode}. {@code actionValid} is false only when the dialect knows the server's
 * "did not understand" answer (ALFWorld: {@code Nothing happens.}). {@code won} is the answer's own
 * boolean {@code won} when it has one, else the dialect's {@link WonRule} on a done step.
 *
 * <p>Any failure of the server (unreachable, timed out, non-2xx, malformed or {@code {"error": ...}}
 * answer) is an {@link EnvInfrastructureException}, never a reward or an observation. After a step
 * failed that way the server's state is unknown: further steps fail the same way until the next reset.
 * Step-before-reset and step-after-done are refused locally, without a request. Not thread-safe, like
 * every {@link Environment}.
 */
public final class RemoteEnvironment implements Environment {

    private static final String CREATE = "/create";
    private static final String RESET = "/reset";
    private static final String STEP = "/step";
    private static final String OBSERVATION = "/observation";
    private static final String AVAILABLE_ACTIONS = "/available_actions";
    private static final String CLOSE = "/close";
    private static final String ACTIONS_FIELD = "available_actions";

    private final RemoteEnvSpec spec;
    private final RemoteProtocol protocol;
    private final RemoteHttp http;

    private Long remoteId;
    private boolean started;
    private boolean done;
    private boolean broken;
    private boolean closed;

    RemoteEnvironment(RemoteEnvSpec spec, RemoteHttp http) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.protocol = spec.protocol();
        this.http = Objects.requireNonNull(http, "http");
    }

    @Override
    public String name() {
        return spec.name();
    }

    /** The server-side environment id, once the first reset has created it. */
    public OptionalLong remoteId() {
        return remoteId == null ? OptionalLong.empty() : OptionalLong.of(remoteId);
    }

    @Override
    public Observation reset(long seed, EnvConfig config) {
        requireOpen();
        Objects.requireNonNull(config, "config").requireKnown(spec.name(), Set.of());
        long index = spec.indexFor(seed);
        started = false;
        done = false;
        broken = false;
        if (remoteId == null) {
            remoteId = http.post(CREATE, RemoteHttp.JSON.createObjectNode(), Safety.ONCE, this::decodeId);
        }
        ObjectNode body = idBody();
        body.put(protocol.indexField(), index);
        for (Map.Entry<String, String> extra : protocol.extraResetFields().entrySet()) {
            body.put(extra.getKey(), extra.getValue());
        }
        ResetAnswer answer = http.post(RESET, body, Safety.REPEATABLE, this::decodeReset);
        String text = answer.observation() != null
                ? answer.observation()
                : http.get(OBSERVATION, protocol.idField(), remoteId, this::decodeObservation);
        List<String> actions = admissible(answer.actions(), false);
        started = true;
        return observation(text, actions);
    }

    @Override
    public StepResult step(String action) {
        Objects.requireNonNull(action, "action");
        requireOpen();
        if (!started) {
            throw new EnvInputException(Kind.NOT_STARTED, spec.name() + ": no episode is running; reset first");
        }
        if (done) {
            throw new EnvInputException(Kind.EPISODE_DONE, spec.name() + ": the episode is done; reset to play again");
        }
        if (broken) {
            throw http.failure("POST " + STEP, "an earlier step failed, so the server's state is unknown; "
                    + "reset to start a new episode", null);
        }
        ObjectNode body = idBody();
        body.put("action", action);
        StepAnswer answer;
        List<String> actions;
        try {
            answer = http.post(STEP, body, Safety.ONCE, this::decodeStep);
            actions = admissible(answer.actions(), answer.done());
        } catch (EnvInfrastructureException e) {
            broken = true;
            throw e;
        }
        boolean valid = protocol.invalidObservation() == null
                || !answer.observation().strip().equals(protocol.invalidObservation());
        boolean won = answer.done() && (answer.won() != null ? answer.won() : wonByReward(answer.reward()));
        done = answer.done();
        return new StepResult(observation(answer.observation(), actions), answer.reward(), answer.done(), won, valid);
    }

    /**
     * Releases the server-side environment ({@code POST /close} when the dialect has it; a server
     * without the route, answering 404 or 405, is fine). The instance is closed even when this throws.
     *
     * @throws EnvInfrastructureException when the server fails to answer the close
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        started = false;
        Long id = remoteId;
        remoteId = null;
        if (id != null && protocol.closeRoute()) {
            ObjectNode body = RemoteHttp.JSON.createObjectNode();
            body.put(protocol.idField(), id);
            http.postIfRouteExists(CLOSE, body);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("remote environment '" + spec.name() + "' is closed");
        }
    }

    private boolean wonByReward(double reward) {
        return protocol.wonRule() == WonRule.FULL ? reward >= 1.0 : reward > 0.0;
    }

    private ObjectNode idBody() {
        ObjectNode body = RemoteHttp.JSON.createObjectNode();
        body.put(protocol.idField(), remoteId);
        return body;
    }

    private List<String> admissible(List<String> inline, boolean episodeDone) {
        return switch (protocol.actionSource()) {
            case NONE -> List.of();
            case INLINE -> inline == null ? List.of() : inline;
            case WEBSHOP_CLICKABLES -> episodeDone
                    ? List.of()
                    : http.get(AVAILABLE_ACTIONS, protocol.idField(), remoteId, RemoteEnvironment::decodeClickables);
        };
    }

    private Observation observation(String text, List<String> actions) {
        if (spec.anchorMode() == AnchorMode.OBSERVATION || actions.isEmpty()) {
            return new Observation(text, text, actions);
        }
        List<String> sorted = new ArrayList<>(actions);
        sorted.sort(null);
        return new Observation(text, text + "\n[admissible] " + String.join(" | ", sorted), actions);
    }

    // ---- decoders: each throws MalformedAnswer for an answer of the wrong shape ----

    private long decodeId(JsonNode answer) {
        JsonNode id = answer.isObject() ? answer.get(protocol.idField()) : answer;
        if (id == null || !id.isIntegralNumber() || !id.canConvertToLong()) {
            throw new MalformedAnswer("the create answer holds no integer env id"
                    + (answer.isObject() ? " '" + protocol.idField() + "'" : "") + ": " + abbreviate(answer));
        }
        return id.asLong();
    }

    private ResetAnswer decodeReset(JsonNode answer) {
        if (answer.isTextual()) {
            return new ResetAnswer(answer.asText(), null);
        }
        if (answer.isArray()) {
            // agentenv-webshop answers the gym pair [observation, info].
            JsonNode first = answer.get(0);
            if (first == null || !(first.isTextual() || first.isNull())) {
                throw new MalformedAnswer("the reset answer is an array without an observation first: "
                        + abbreviate(answer));
            }
            return new ResetAnswer(first.isNull() ? null : first.asText(), null);
        }
        if (!answer.isObject()) {
            throw new MalformedAnswer("the reset answer is neither an object, an array nor a string: "
                    + abbreviate(answer));
        }
        JsonNode text = answer.get("observation");
        if (text != null && !text.isNull() && !text.isTextual()) {
            throw new MalformedAnswer("the reset answer's 'observation' is not a string: " + abbreviate(answer));
        }
        return new ResetAnswer(text == null || text.isNull() ? null : text.asText(), inlineActions(answer));
    }

    private StepAnswer decodeStep(JsonNode answer) {
        if (!answer.isObject()) {
            throw new MalformedAnswer("the step answer is not an object: " + abbreviate(answer));
        }
        String field = protocol.stepObservationField();
        JsonNode text = answer.get(field);
        if (text == null || !text.isTextual()) {
            throw new MalformedAnswer("the step answer has no string '" + field + "': " + abbreviate(answer));
        }
        JsonNode reward = answer.get("reward");
        if (reward == null || !reward.isNumber()) {
            throw new MalformedAnswer("the step answer has no number 'reward': " + abbreviate(answer));
        }
        JsonNode doneNode = answer.get("done");
        if (doneNode == null || !doneNode.isBoolean()) {
            throw new MalformedAnswer("the step answer has no boolean 'done': " + abbreviate(answer));
        }
        JsonNode wonNode = answer.get("won");
        Boolean won = wonNode != null && wonNode.isBoolean() ? wonNode.asBoolean() : null;
        return new StepAnswer(text.asText(), reward.asDouble(), doneNode.asBoolean(), won, inlineActions(answer));
    }

    private String decodeObservation(JsonNode answer) {
        JsonNode text = answer.isObject() ? answer.get("observation") : answer;
        if (text == null || !text.isTextual()) {
            throw new MalformedAnswer("the observation answer is not a string: " + abbreviate(answer));
        }
        return text.asText();
    }

    private static List<String> decodeClickables(JsonNode answer) {
        JsonNode clickables = answer.isObject() ? answer.get("clickables") : null;
        if (clickables == null || !clickables.isArray()) {
            throw new MalformedAnswer("the available_actions answer has no array 'clickables': " + abbreviate(answer));
        }
        List<String> actions = new ArrayList<>();
        for (JsonNode clickable : clickables) {
            if (!clickable.isTextual()) {
                throw new MalformedAnswer("a clickable is not a string: " + abbreviate(answer));
            }
            // The search button is not clickable: WebShop acts on search[keywords] instead.
            if (!clickable.asText().equals("search")) {
                actions.add("click[" + clickable.asText() + "]");
            }
        }
        return List.copyOf(actions);
    }

    private List<String> inlineActions(JsonNode answer) {
        if (protocol.actionSource() != ActionSource.INLINE) {
            return null;
        }
        JsonNode list = answer.get(ACTIONS_FIELD);
        if (list == null || list.isNull()) {
            return null;
        }
        if (!list.isArray()) {
            throw new MalformedAnswer("'" + ACTIONS_FIELD + "' is not an array: " + abbreviate(answer));
        }
        List<String> actions = new ArrayList<>(list.size());
        for (JsonNode action : list) {
            if (!action.isTextual()) {
                throw new MalformedAnswer("'" + ACTIONS_FIELD + "' holds a non-string: " + abbreviate(answer));
            }
            actions.add(action.asText());
        }
        return List.copyOf(actions);
    }

    private static String abbreviate(JsonNode node) {
        String text = node.toString();
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }

    private record ResetAnswer(String observation, List<String> actions) {
    }

    private record StepAnswer(String observation, double reward, boolean done, Boolean won, List<String> actions) {
    }
}
