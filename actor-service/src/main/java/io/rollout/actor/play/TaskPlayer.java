package io.rollout.actor.play;

import io.rollout.records.Step;
import io.rollout.records.Task;
import java.util.function.Consumer;

/**
 * What the actor service needs of a player: play a task's group, handing each step to a sink,
 * and tell whether env-service answers. {@link GroupPlayer} is the real one.
 */
public interface TaskPlayer {

    /**
     * Plays {@code task}, handing each step to {@code sink}; an env-service outage throws
     * {@link EnvOutageException}, and whatever {@code sink} throws ends the play.
     */
    void play(Task task, AdapterRef adapter, Consumer<Step> sink);

    /** Returns when env-service answers, throws when it does not. */
    void probeEnv();
}
