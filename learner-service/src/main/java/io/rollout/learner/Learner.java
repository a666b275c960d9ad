package io.rollout.learner;

import io.micrometer.core.instrument.MeterRegistry;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.scheduler.SchedulerService;
import io.rollout.learner.scheduler.TaskDispatch;
import io.rollout.learner.scheduler.TaskScheduler;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.policy.Policy;
import io.rollout.schemas.topics.TopicCatalog;
import java.time.Clock;
import java.util.Optional;
import java.util.Properties;

/**
 * The learner of one run, assembled in one place: the trainer and, when it hands out its own
 * tasks, the scheduler that dispatches them. The trainer owns the scheduler through
 * {@link TaskDispatch}: it starts it at its restored version, tells it every new version and each
 * group's outcome, keeps its state in each checkpoint and closes it; nothing else holds either.
 */
public final class Learner implements AutoCloseable {

    private final TrainerService trainer;

    private Learner(TrainerService trainer) {
        this.trainer = trainer;
    }

    /**
     * @param tasks the scheduler of this run's tasks, sending them on rollout.tasks and reading
     *     rollout.dropped; empty when another process dispatches the tasks
     */
    public static Learner create(Policy policy, TrainerConfig config, TrainerService.Settings settings,
            TopicCatalog topics, Properties kafka, CheckpointStore store, Optional<TaskScheduler> tasks,
            MeterRegistry registry, Clock clock, TrainerService.Listener listener) {
        TaskDispatch dispatch = tasks.<TaskDispatch>map(t -> new SchedulerService(kafka, topics, t, clock, registry))
                .orElse(TaskDispatch.NONE);
        return new Learner(new TrainerService(policy, config, settings, topics, kafka, store, dispatch, registry, clock,
                listener));
    }

    /** Restores the newest checkpoint and starts training (and dispatching); see {@link TrainerService#start}. */
    public void start() {
        trainer.start();
    }

    public TrainerService trainer() {
        return trainer;
    }

    /** Finishes the update in progress, checkpoints and stops the trainer and the scheduler. */
    @Override
    public void close() {
        trainer.close();
    }
}
