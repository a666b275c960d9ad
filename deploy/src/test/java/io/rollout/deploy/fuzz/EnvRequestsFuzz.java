package io.rollout.deploy.fuzz;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.api.ApiJson;
import io.rollout.env.api.CreateSessionRequest;
import io.rollout.env.api.StepRequest;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a client sends env-service: a create request (JSON: environment, seed, config) and
 * step requests (JSON: an action), NUL-separated in the input, parsed as the server parses
 * them and played against the real environments. The only allowed failures are a JSON error
 * and {@link EnvInputException} (the 4xx answers).
 */
public final class EnvRequestsFuzz {

    private static final ObjectMapper REQUESTS = ApiJson.strict();
    private static final SessionManager SESSIONS = new SessionManager(
            new EnvRegistry(List.of(new SokobanFactory(), new HouseholdFactory())), 4, Duration.ofMinutes(5),
            System::nanoTime);

    private EnvRequestsFuzz() {
    }

    public static void fuzzerTestOneInput(byte[] data) {
        List<byte[]> parts = split(data);
        CreateSessionRequest create;
        try {
            create = REQUESTS.readValue(parts.get(0), CreateSessionRequest.class);
        } catch (IOException expected) {
            return;
        }
        if (create == null || create.env() == null) {
            return;
        }
        Map<String, String> config = new TreeMap<>();
        if (create.config() != null) {
            create.config().forEach((k, v) -> config.put(k, String.valueOf(v)));
        }
        String id;
        try {
            id = SESSIONS.create(create.env(), create.seed() == null ? 0 : create.seed(), EnvConfig.of(config)).id();
        } catch (EnvInputException expected) {
            return;
        }
        try {
            for (byte[] part : parts.subList(1, Math.min(parts.size(), 6))) {
                StepRequest step;
                try {
                    step = REQUESTS.readValue(part, StepRequest.class);
                } catch (IOException expected) {
                    continue;
                }
                if (step == null || step.action() == null) {
                    continue;
                }
                try {
                    if (SESSIONS.step(id, step.action()).done()) {
                        break;
                    }
                } catch (EnvInputException expected) {
                    break;
                }
            }
        } finally {
            SESSIONS.close(id);
        }
    }

    private static List<byte[]> split(byte[] data) {
        List<byte[]> parts = new ArrayList<>();
        int from = 0;
        for (int i = 0; i <= data.length; i++) {
            if (i == data.length || data[i] == 0) {
                parts.add(Arrays.copyOfRange(data, from, i));
                from = i + 1;
            }
        }
        return parts;
    }
}
