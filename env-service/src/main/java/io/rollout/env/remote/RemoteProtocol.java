package io.rollout.env.remote;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The dialect of an AgentGym-style environment server: the routes are always {@code POST /create},
 * {@code POST /reset}, {@code POST /step}, {@code GET /observation}, {@code GET /available_actions}
 * and {@code POST /close} (below the base URL), but servers name the env-id and data-index fields
 * differently and shape their answers differently. A preset fixes all of that for one server family;
 * a spec may override {@link #idField}, {@link #indexField}, {@link #wonRule} and {@link #closeRoute}.
 *
 * @param preset               the preset this dialect was derived from ({@code agentgym-alfworld}, ...)
 * @param idField              the env-id field in request bodies and the query parameter of GET routes
 *                             ({@code id} for ALFWorld, {@code env_idx} for WebShop)
 * @param indexField           the reset field that picks the task ({@code game}, {@code session_id}, {@code data_idx})
 * @param extraResetFields     fixed extra fields of the reset body (ALFWorld: {@code world_type=Text})
 * @param stepObservationField the step-answer field holding the next observation ({@code observation} or {@code state})
 * @param actionSource         where the admissible actions come from
 * @param invalidObservation   the observation a server answers to an action it did not understand
 *                             (ALFWorld: {@code Nothing happens.}), or {@code null} when it has no such signal
 * @param wonRule              how a done step's reward decides {@code won} when the answer has no boolean {@code won}
 * @param closeRoute           whether {@link RemoteEnvironment#close()} posts {@code /close}
 */
public record RemoteProtocol(
        String preset,
        String idField,
        String indexField,
        Map<String, String> extraResetFields,
        String stepObservationField,
        ActionSource actionSource,
        String invalidObservation,
        WonRule wonRule,
        boolean closeRoute) {

    /** Where admissible actions come from. */
    public enum ActionSource {
        /** The server lists none: admissible actions are always empty. */
        NONE,
        /** A string array {@code available_actions} in the reset and step answers (ALFWorld). */
        INLINE,
        /**
         * {@code GET /available_actions?<idField>=N} answering {@code {has_search_bar, clickables}} (WebShop):
         * each clickable {@code c} but {@code search} becomes {@code click[c]}. Free-text {@code search[...]}
         * cannot be listed.
         */
        WEBSHOP_CLICKABLES
    }

    /** How {@code won} follows from a done step's reward. */
    public enum WonRule {
        /** won = done and reward &gt; 0 (ALFWorld's reward is 1.0 exactly when the game is won). */
        POSITIVE,
        /** won = done and reward &gt;= 1.0 (WebShop's reward is a partial-match score in [0, 1]). */
        FULL;

        /** The spelling in a spec: {@code positive} or {@code full}. */
        public String spelling() {
            return name().toLowerCase(Locale.ROOT);
        }

        static WonRule parse(String text) {
            for (WonRule rule : values()) {
                if (rule.spelling().equals(text)) {
                    return rule;
                }
            }
            throw new IllegalArgumentException("is not one of [full, positive]");
        }
    }

    // Before the presets: their construction validates with it.
    private static final Pattern FIELD = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");

    /** AgentGym's agentenv-alfworld server: {@code {id, game, world_type}}, errors as {@code {"error": ...}}. */
    public static final RemoteProtocol ALFWORLD = new RemoteProtocol("agentgym-alfworld", "id", "game",
            Map.of("world_type", "Text"), "observation", ActionSource.INLINE, "Nothing happens.", WonRule.POSITIVE,
            true);

    /** AgentGym's agentenv-webshop server: {@code {env_idx, session_id}}, step answers {@code state}. */
    public static final RemoteProtocol WEBSHOP = new RemoteProtocol("agentgym-webshop", "env_idx", "session_id",
            Map.of(), "state", ActionSource.WEBSHOP_CLICKABLES, null, WonRule.FULL, true);

    /**
     * The common AgentGym shape (TextCraft and others): {@code {id, data_idx}}, step answers
     * {@code observation}, an optional inline {@code available_actions}.
     */
    public static final RemoteProtocol GENERIC = new RemoteProtocol("agentgym", "id", "data_idx", Map.of(),
            "observation", ActionSource.INLINE, null, WonRule.POSITIVE, true);

    /** Every preset, by its spec name. */
    public static final List<RemoteProtocol> PRESETS = List.of(ALFWORLD, WEBSHOP, GENERIC);

    public RemoteProtocol {
        Objects.requireNonNull(preset, "preset");
        requireField("id-field", idField);
        requireField("index-field", indexField);
        requireField("step observation field", stepObservationField);
        extraResetFields = Map.copyOf(extraResetFields);
        extraResetFields.keySet().forEach(key -> requireField("extra reset field", key));
        Objects.requireNonNull(actionSource, "actionSource");
        Objects.requireNonNull(wonRule, "wonRule");
        if (idField.equals(indexField)) {
            throw new IllegalArgumentException("id-field and index-field must differ, both are '" + idField + "'");
        }
    }

    /** The preset named {@code name}; an IllegalArgumentException lists the known ones. */
    public static RemoteProtocol preset(String name) {
        for (RemoteProtocol protocol : PRESETS) {
            if (protocol.preset.equals(name)) {
                return protocol;
            }
        }
        throw new IllegalArgumentException("unknown protocol preset '" + name + "'; known: " + presetNames());
    }

    /** The preset names, sorted. */
    public static List<String> presetNames() {
        return PRESETS.stream().map(RemoteProtocol::preset).sorted().toList();
    }

    public RemoteProtocol withIdField(String field) {
        return new RemoteProtocol(preset, field, indexField, extraResetFields, stepObservationField, actionSource,
                invalidObservation, wonRule, closeRoute);
    }

    public RemoteProtocol withIndexField(String field) {
        return new RemoteProtocol(preset, idField, field, extraResetFields, stepObservationField, actionSource,
                invalidObservation, wonRule, closeRoute);
    }

    public RemoteProtocol withWonRule(WonRule rule) {
        return new RemoteProtocol(preset, idField, indexField, extraResetFields, stepObservationField, actionSource,
                invalidObservation, rule, closeRoute);
    }

    public RemoteProtocol withCloseRoute(boolean close) {
        return new RemoteProtocol(preset, idField, indexField, extraResetFields, stepObservationField, actionSource,
                invalidObservation, wonRule, close);
    }

    private static void requireField(String what, String value) {
        if (value == null || !FIELD.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " '" + value + "' is not a field name ([A-Za-z_][A-Za-z0-9_]*)");
        }
    }
}
