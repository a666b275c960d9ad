package io.rollout.learner.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.records.Task;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaskSchedulerTest {

    static final TaskDistribution TASKS = TaskDistribution.parse(List.of(
            "env=sokoban,seeds=0-1000,group-size=4,max-steps=10,config.dim_room=6",
            "env=babyai,seeds=100-200,group-size=2,max-steps=30,weight=2"));

    static SchedulerConfig config(int maxInFlight, int batchGroups, int maxStaleness, int maxRetries, Duration timeout) {
        return new SchedulerConfig(maxInFlight, batchGroups, maxStaleness, maxRetries, timeout, "run");
    }

    static TaskScheduler scheduler(int maxInFlight, int maxRetries, Duration timeout) {
        return new TaskScheduler(config(maxInFlight, 8, 1, maxRetries, timeout), TASKS, 99);
    }

    static List<String> ids(List<Task> tasks) {
        return tasks.stream().map(t -> t.getGroupId() + "#" + t.getAttempt()).toList();
    }

    @Test
    void shouldValidateTheConfigNamingTheField() {
        assertThatThrownBy(() -> config(0, 8, 1, 3, Duration.ZERO)).hasMessageContaining("maxInFlight");
        assertThatThrownBy(() -> config(1, 0, 1, 3, Duration.ZERO)).hasMessageContaining("batchGroups");
        assertThatThrownBy(() -> config(1, 1, -1, 3, Duration.ZERO)).hasMessageContaining("maxStaleness");
        assertThatThrownBy(() -> config(1, 1, 1, -1, Duration.ZERO)).hasMessageContaining("maxRetries");
        assertThatThrownBy(() -> config(1, 1, 1, 1, Duration.ofSeconds(-1))).hasMessageContaining("taskTimeout");
        assertThatThrownBy(() -> new SchedulerConfig(1, 1, 1, 1, Duration.ZERO, "a b")).hasMessageContaining("runId");
        assertThat(SchedulerConfig.defaults()).isEqualTo(new SchedulerConfig(16, 8, 1, 3, Duration.ofMinutes(30), "run"));
    }

    @Test
    void shouldNameGroupsByRunAndPaddedIndex() {
        SchedulerConfig c = SchedulerConfig.defaults();
        assertThat(c.groupId(42)).isEqualTo("run-00000042");
        assertThat(c.indexOf("run-00000042")).hasValue(42);
        assertThat(c.indexOf("run-123456789")).hasValue(123456789);
        assertThat(c.indexOf("run-0000042")).isEmpty();
        assertThat(c.indexOf("run-000000042")).isEmpty();
        assertThat(c.indexOf("other-00000042")).isEmpty();
        assertThat(c.indexOf("run-1-00000042")).isEmpty();
    }

    @Test
    void shouldNeverExceedMaxInFlight() {
        TaskScheduler s = scheduler(3, 3, Duration.ZERO);

        List<Task> first = s.poll(5, 1000);

        assertThat(ids(first)).containsExactly("run-00000000#0", "run-00000001#0", "run-00000002#0");
        assertThat(first).allSatisfy(t -> {
            assertThat(t.getPolicyVersion()).isEqualTo(5);
            assertThat(t.getCreatedAtMs()).isEqualTo(1000);
        });
        assertThat(s.poll(5, 2000)).isEmpty();
        assertThat(s.inFlight()).isEqualTo(3);
        assertThat(s.counters().dispatched()).isEqualTo(3);
    }

    @Test
    void shouldBoundInFlightByStalenessWhenThatIsSmaller() {
        assertThat(new TaskScheduler(config(100, 4, 1, 3, Duration.ZERO), TASKS, 1).poll(0, 0)).hasSize(8);
        assertThat(new TaskScheduler(config(100, 4, 0, 3, Duration.ZERO), TASKS, 1).poll(0, 0)).hasSize(4);
        assertThat(new TaskScheduler(config(6, 4, 1, 3, Duration.ZERO), TASKS, 1).poll(0, 0)).hasSize(6);
    }

    @Test
    void shouldDrawTasksFromTheDistributionByIndex() {
        List<Task> tasks = scheduler(16, 3, Duration.ZERO).poll(0, 0);

        for (int i = 0; i < tasks.size(); i++) {
            TaskDraw draw = TASKS.draw(99, i);
            Task t = tasks.get(i);
            assertThat(t.getEnv()).isEqualTo(draw.source().env());
            assertThat(t.getEnvConfig()).isEqualTo(draw.source().envConfig());
            assertThat(t.getSeed()).isEqualTo(draw.seed());
            assertThat(t.getGroupSize()).isEqualTo(draw.source().groupSize());
            assertThat(t.getMaxSteps()).isEqualTo(draw.source().maxSteps());
        }
    }

    @Test
    void shouldFreeASlotWhenAGroupIsTrained() {
        TaskScheduler s = scheduler(2, 3, Duration.ZERO);
        s.poll(0, 0);

        assertThat(s.onTrained("run-00000000", 0)).isTrue();
        assertThat(s.onTrained("run-00000000", 0)).isFalse();
        assertThat(s.onTrained("run-00000077", 0)).isFalse();

        assertThat(ids(s.poll(1, 10))).containsExactly("run-00000002#0");
        assertThat(s.counters().trained()).isEqualTo(1);
    }

    @Test
    void shouldRemoveADiscardedGroupWithoutRequeueingIt() {
        TaskScheduler s = scheduler(2, 3, Duration.ZERO);
        s.poll(0, 0);

        assertThat(s.onDiscarded("run-00000001", 0)).isTrue();

        assertThat(ids(s.poll(1, 10))).containsExactly("run-00000002#0");
        assertThat(s.counters().discarded()).isEqualTo(1);
        assertThat(s.counters().requeued()).isZero();
    }

    @Test
    void shouldRequeueADroppedGroupAsTheNextAttemptBeforeNewGroups() {
        TaskScheduler s = scheduler(2, 3, Duration.ZERO);
        Task original = s.poll(3, 100).get(0);

        assertThat(s.onDropped("run-00000000", 0)).isTrue();
        s.onTrained("run-00000001", 0);
        List<Task> next = s.poll(4, 200);

        assertThat(ids(next)).containsExactly("run-00000000#1", "run-00000002#0");
        Task again = next.get(0);
        assertThat(again.getEnv()).isEqualTo(original.getEnv());
        assertThat(again.getEnvConfig()).isEqualTo(original.getEnvConfig());
        assertThat(again.getSeed()).isEqualTo(original.getSeed());
        assertThat(again.getGroupSize()).isEqualTo(original.getGroupSize());
        assertThat(again.getMaxSteps()).isEqualTo(original.getMaxSteps());
        assertThat(again.getPolicyVersion()).isEqualTo(4);
        assertThat(again.getCreatedAtMs()).isEqualTo(200);
        assertThat(s.counters().requeued()).isEqualTo(1);
        assertThat(s.counters().dispatched()).isEqualTo(4);
    }

    @Test
    void shouldAbandonAGroupAfterMaxRetries() {
        TaskScheduler s = scheduler(1, 2, Duration.ZERO);
        s.poll(0, 0);

        s.onDropped("run-00000000", 0);
        assertThat(ids(s.poll(0, 1))).containsExactly("run-00000000#1");
        s.onDropped("run-00000000", 1);
        assertThat(ids(s.poll(0, 2))).containsExactly("run-00000000#2");
        s.onDropped("run-00000000", 2);

        assertThat(ids(s.poll(0, 3))).containsExactly("run-00000001#0");
        assertThat(s.counters().requeued()).isEqualTo(2);
        assertThat(s.counters().abandoned()).isEqualTo(1);
    }

    @Test
    void shouldIgnoreDropsOfUnknownGroupsAndOtherAttempts() {
        TaskScheduler s = scheduler(2, 3, Duration.ZERO);
        s.poll(0, 0);

        assertThat(s.onDropped("run-00000009", 0)).isFalse();
        assertThat(s.onDropped("run-00000000", 1)).isFalse();
        assertThat(s.onDropped("elsewhere-00000000", 0)).isFalse();

        assertThat(s.inFlight()).isEqualTo(2);
        assertThat(s.poll(0, 1)).isEmpty();
        assertThat(s.counters().staleDrops()).isEqualTo(3);
        assertThat(s.counters().requeued()).isZero();

        // Once re-queued, a second drop of the old attempt is stale too.
        s.onDropped("run-00000000", 0);
        assertThat(ids(s.poll(0, 2))).containsExactly("run-00000000#1");
        assertThat(s.onDropped("run-00000000", 0)).isFalse();
        assertThat(s.poll(0, 3)).isEmpty();
    }

    @Test
    void shouldRequeueAGroupInFlightLongerThanTheTimeout() {
        TaskScheduler s = scheduler(2, 1, Duration.ofSeconds(10));
        s.poll(0, 1_000);
        s.onTrained("run-00000001", 0);
        assertThat(ids(s.poll(0, 5_000))).containsExactly("run-00000002#0");

        assertThat(s.poll(1, 11_000)).isEmpty();
        assertThat(ids(s.poll(1, 11_001))).containsExactly("run-00000000#1");
        assertThat(s.counters().timedOut()).isEqualTo(1);

        // Each attempt gets its own timeout; at the retry limit a timeout abandons the group.
        assertThat(ids(s.poll(1, 15_001))).containsExactly("run-00000002#1");
        assertThat(ids(s.poll(2, 21_002))).containsExactly("run-00000003#0");
        assertThat(s.counters().timedOut()).isEqualTo(3);
        assertThat(s.counters().abandoned()).isEqualTo(1);
        assertThat(s.counters().requeued()).isEqualTo(2);
        assertThat(s.snapshot().inFlight()).extracting(SchedulerState.Group::groupId)
                .containsExactly("run-00000002", "run-00000003");
    }

    @Test
    void shouldNotTimeOutWhenTheTimeoutIsZero() {
        TaskScheduler s = scheduler(2, 3, Duration.ZERO);
        s.poll(0, 0);

        assertThat(s.poll(0, Long.MAX_VALUE / 2)).isEmpty();
        assertThat(s.counters().timedOut()).isZero();
    }

    @Test
    void shouldBehaveIdenticallyAfterAJsonRoundTripOfItsSnapshot() throws Exception {
        SchedulerConfig c = config(4, 2, 1, 1, Duration.ofSeconds(30));
        TaskScheduler original = new TaskScheduler(c, TASKS, 7);
        original.poll(0, 0);
        original.onTrained("run-00000001", 0);
        original.onDropped("run-00000002", 0);
        original.onDropped("run-00000003", 0);
        original.poll(1, 1_000);
        original.onDropped("run-00000002", 1); // out of retries: abandoned
        original.onDropped("run-00000009", 0); // stale

        ObjectMapper json = new ObjectMapper();
        String written = json.writeValueAsString(original.snapshot());
        SchedulerState read = json.readValue(written, SchedulerState.class);
        assertThat(read).isEqualTo(original.snapshot());
        TaskScheduler restored = TaskScheduler.restore(c, TASKS, 7, read);

        assertThat(restored.counters()).isEqualTo(original.counters());
        List<List<Task>> a = new ArrayList<>();
        List<List<Task>> b = new ArrayList<>();
        for (TaskScheduler s : List.of(original, restored)) {
            List<List<Task>> out = s == original ? a : b;
            out.add(s.poll(2, 2_000));
            s.onDropped("run-00000003", 1);
            s.onTrained("run-00000000", 0);
            out.add(s.poll(3, 3_000));
            out.add(s.poll(3, 40_000)); // everything times out
        }
        assertThat(b).isEqualTo(a);
        assertThat(a.get(0)).isNotEmpty();
        assertThat(restored.snapshot()).isEqualTo(original.snapshot());
    }

    @Test
    void shouldRefuseAStateOfAnotherRun() {
        TaskScheduler other = new TaskScheduler(new SchedulerConfig(2, 2, 1, 1, Duration.ZERO, "other"), TASKS, 7);
        other.poll(0, 0);

        assertThatThrownBy(() -> TaskScheduler.restore(config(2, 2, 1, 1, Duration.ZERO), TASKS, 7, other.snapshot()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("other-00000000");
    }

    @Test
    void shouldRecordTasksDispatchedAfterACheckpoint() {
        SchedulerConfig c = config(4, 2, 1, 3, Duration.ofMinutes(1));
        TaskScheduler live = new TaskScheduler(c, TASKS, 7);
        live.poll(0, 0);
        live.onTrained("run-00000000", 0);
        SchedulerState checkpoint = live.snapshot();

        // After the checkpoint: two new groups and a re-queue reach the topic, then a crash.
        live.onTrained("run-00000001", 0);
        live.onDropped("run-00000002", 0);
        List<Task> after = new ArrayList<>(live.poll(1, 500));
        assertThat(ids(after)).containsExactly("run-00000002#1", "run-00000004#0", "run-00000005#0");

        // Tasks of different partitions come back in any order: here the newest first.
        TaskScheduler restored = TaskScheduler.restore(c, TASKS, 7, checkpoint);
        for (int i = after.size() - 1; i >= 0; i--) {
            assertThat(restored.recordDispatched(after.get(i))).as(after.get(i).getGroupId()).isTrue();
        }
        Task foreign = Task.newBuilder(after.get(1)).setGroupId("other-00000009").build();
        Task finished = Task.newBuilder(after.get(1)).setGroupId("run-00000000").build();
        Task older = Task.newBuilder(after.get(0)).setAttempt(0).build();
        assertThat(restored.recordDispatched(foreign)).isFalse();
        assertThat(restored.recordDispatched(finished)).isFalse();
        assertThat(restored.recordDispatched(older)).isFalse();

        assertThat(restored.nextIndex()).isEqualTo(6);
        // What the live scheduler had in flight, plus run-00000001: its training came after the checkpoint.
        List<SchedulerState.Group> expected = new ArrayList<>(live.snapshot().inFlight());
        expected.add(checkpoint.inFlight().get(0));
        assertThat(restored.snapshot().inFlight()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(restored.poll(1, 600)).isEmpty();
        restored.onTrained("run-00000001", 0);
        restored.onTrained("run-00000003", 0);
        assertThat(ids(restored.poll(1, 700))).containsExactly("run-00000006#0");
    }

    @Test
    void shouldTakeAPendingRequeueOutOfTheQueueWhenItIsFoundDispatched() {
        SchedulerConfig c = config(1, 1, 0, 3, Duration.ZERO);
        TaskScheduler s = new TaskScheduler(c, TASKS, 7);
        Task first = s.poll(0, 0).get(0);
        s.onDropped(first.getGroupId(), 0);
        assertThat(s.pending()).isEqualTo(1);

        assertThat(s.recordDispatched(Task.newBuilder(first).setAttempt(1).setCreatedAtMs(50).build())).isTrue();

        assertThat(s.pending()).isZero();
        assertThat(s.snapshot().inFlight()).singleElement().satisfies(g -> {
            assertThat(g.attempt()).isEqualTo(1);
            assertThat(g.requeues()).isEqualTo(1);
            assertThat(g.dispatchedAtMs()).isEqualTo(50);
        });
        assertThat(s.counters().requeued()).isEqualTo(1);
        assertThat(s.poll(0, 60)).isEmpty();
    }
}
