package io.rollout.actor.play;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Leases on adapter versions: a replaced version is released once, after its last round. */
class AdapterRefTest {

    private final AdapterVersion v1 = new AdapterVersion(1, null);
    private final AdapterVersion v2 = new AdapterVersion(2, null);
    private final AdapterVersion v3 = new AdapterVersion(3, null);
    private final List<AdapterVersion> released = new ArrayList<>();
    private final AdapterRef ref = new AdapterRef(v1, released::add);

    @Test
    void shouldReleaseAReplacedVersionOnlyAfterItsLastLeaseCloses() {
        AdapterRef.Lease first = ref.acquire();
        AdapterRef.Lease second = ref.acquire();

        ref.set(v2);
        assertThat(ref.get()).isSameAs(v2);
        assertThat(first.version()).isSameAs(v1);
        assertThat(second.version()).isSameAs(v1);
        assertThat(released).isEmpty();

        first.close();
        assertThat(released).isEmpty();

        second.close();
        assertThat(released).containsExactly(v1);
    }

    @Test
    void shouldReleaseAtOnceWhenNoLeaseIsOpen() {
        ref.acquire().close();

        ref.set(v2);
        assertThat(released).containsExactly(v1);

        ref.set(v3);
        assertThat(released).containsExactly(v1, v2);
        assertThat(ref.get()).isSameAs(v3);
    }

    @Test
    void shouldReleaseOnceWhenALeaseIsClosedTwice() {
        AdapterRef.Lease twice = ref.acquire();
        AdapterRef.Lease open = ref.acquire();

        twice.close();
        twice.close();
        ref.set(v2);
        // Had the second close counted, no lease would be left on v1 and set() would release it.
        assertThat(released).isEmpty();

        open.close();
        open.close();
        assertThat(released).containsExactly(v1);

        AdapterRef.Lease late = ref.acquire();
        late.close();
        late.close();
        assertThat(released).containsExactly(v1);
    }

    @Test
    void shouldNeverReleaseTheCurrentVersion() {
        for (int i = 0; i < 3; i++) {
            ref.acquire().close();
        }
        AdapterRef.Lease a = ref.acquire();
        AdapterRef.Lease b = ref.acquire();
        b.close();
        a.close();
        assertThat(released).isEmpty();

        AdapterRef.Lease old = ref.acquire();
        ref.set(v2);
        AdapterRef.Lease current = ref.acquire();
        assertThat(current.version()).isSameAs(v2);
        current.close();
        old.close();
        ref.acquire().close();

        assertThat(released).containsExactly(v1);
        assertThat(ref.get()).isSameAs(v2);
    }
}
