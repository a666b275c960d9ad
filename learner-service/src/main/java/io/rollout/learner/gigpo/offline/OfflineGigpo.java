package io.rollout.learner.gigpo.offline;

import io.rollout.learner.gigpo.DuplicateStepException;
import io.rollout.learner.gigpo.Gigpo;
import io.rollout.learner.gigpo.GigpoConfig;
import io.rollout.learner.gigpo.GigpoResult;
import io.rollout.learner.gigpo.GigpoRow;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds GiGPO advantages to a JSONL file of steps, one JSON object per line (lines end with \n,
 * \r\n or a lone \r; blank lines are skipped). Each output line is the input object's own text,
 * byte for byte, with the result fields appended before its closing brace, in input order;
 * whitespace around the object is not kept.
 *
 * <p>The input is read twice rather than held in memory: the first pass extracts only the fields
 * GiGPO needs and where each object lies (a group may be spread over the whole file, so nothing can
 * be computed before the end), the second copies each object through with its results. Both passes
 * work on chunks of whole lines in parallel, since one core cannot parse and format a million rows
 * a second. Output goes to a temporary file next to the target and is moved into place only on
 * success, so a failed run leaves no partial output. Memory grows with the number of rows (about
 * 100 bytes a row plus the distinct anchors), so very large files need a matching heap.
 *
 * <p>Longer than most classes because the two passes, their chunked parallel parsing and
 * formatting, and the atomic move of the output share one row table.
 */
public final class OfflineGigpo {

    /** Counts of a completed run. */
    public record Summary(long rows, int groups) {}

    private static final Logger LOG = LoggerFactory.getLogger(OfflineGigpo.class);
    private static final int CHUNK_BYTES = 4 << 20;

    private final GigpoConfig config;
    private final int threads;
    private final int chunkBytes;

    /** Uses one worker thread per available processor. */
    public OfflineGigpo(GigpoConfig config) {
        this(config, Runtime.getRuntime().availableProcessors());
    }

    /** Uses {@code threads} worker threads; the calling thread splits the input and writes the output. */
    public OfflineGigpo(GigpoConfig config, int threads) {
        this(config, threads, CHUNK_BYTES);
    }

    /** Tests use tiny chunks to exercise lines that span chunk boundaries. */
    OfflineGigpo(GigpoConfig config, int threads, int chunkBytes) {
        this.config = Objects.requireNonNull(config, "config");
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (chunkBytes < 1) {
            throw new IllegalArgumentException("chunkBytes must be >= 1, got " + chunkBytes);
        }
        this.threads = threads;
        this.chunkBytes = chunkBytes;
    }

    /**
     * Reads {@code input}, computes the advantages group by group and writes {@code output}.
     *
     * @throws MalformedLineException for the first unusable line; {@code output} is then untouched
     */
    public Summary run(Path input, Path output) throws IOException, MalformedLineException {
        AtomicInteger ids = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread thread = new Thread(r, "gigpo-offline-" + ids.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        try {
            long start = System.nanoTime();
            List<ParsedChunk> chunks = parse(input, pool);
            long parsed = System.nanoTime();
            Table table = Table.merge(chunks);
            long merged = System.nanoTime();
            Results results = compute(table, pool);
            long computed = System.nanoTime();
            write(input, output, chunks, table, results, pool);
            long written = System.nanoTime();
            LOG.debug("{} rows, {} groups, {} chunks: parse {} ms, merge {} ms, compute {} ms, write {} ms",
                    table.rows, table.groups.size(), chunks.size(), (parsed - start) / 1_000_000,
                    (merged - parsed) / 1_000_000, (computed - merged) / 1_000_000, (written - computed) / 1_000_000);
            return new Summary(table.rows, table.groups.size());
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- pass 1

    private List<ParsedChunk> parse(Path input, ExecutorService pool) throws IOException {
        int inFlight = 2 * threads;
        // Recycled chunk buffers; taking one bounds how many chunks are held in memory at once.
        BlockingQueue<byte[]> buffers = new ArrayBlockingQueue<>(inFlight);
        for (int i = 0; i < inFlight; i++) {
            buffers.add(new byte[0]); // sized by the first chunk that uses it
        }
        List<ParsedChunk> chunks = new ArrayList<>();
        List<Future<?>> parsing = new ArrayList<>();
        try (FileChannel in = FileChannel.open(input, StandardOpenOption.READ)) {
            long size = in.size();
            ByteBuffer probe = ByteBuffer.allocate(64 * 1024);
            long offset = 0;
            while (offset < size) {
                long end = chunkEnd(in, offset, size, probe);
                if (end - offset > Integer.MAX_VALUE - 8) {
                    throw new IOException("a line of " + input + " is longer than 2 GB");
                }
                ParsedChunk chunk = new ParsedChunk(offset, (int) (end - offset));
                chunks.add(chunk);
                byte[] recycled = take(buffers);
                // Workers read their own chunk: this thread only probes for line ends, so bulk
                // copying happens on all cores.
                parsing.add(pool.submit(() -> {
                    byte[] buf = recycled.length >= chunk.byteLength ? recycled : new byte[chunk.byteLength];
                    try {
                        readFully(in, buf, chunk.fileOffset, chunk.byteLength);
                        ChunkParser.parse(buf, chunk.byteLength, chunk);
                    } finally {
                        buffers.add(buf);
                    }
                    return null;
                }));
                offset = end;
            }
            for (Future<?> f : parsing) {
                join(f); // before the channel closes: workers still read from it
            }
        }
        return chunks;
    }

    /** End of the chunk starting at {@code offset}: just past the first line end after its nominal size. */
    private long chunkEnd(FileChannel in, long offset, long size, ByteBuffer probe) throws IOException {
        long position = offset + chunkBytes - 1;
        while (position < size) {
            probe.clear();
            int read = in.read(probe, position);
            if (read <= 0) {
                break;
            }
            byte[] bytes = probe.array();
            for (int i = 0; i < read; i++) {
                if (bytes[i] == '\n') {
                    return position + i + 1;
                }
            }
            position += read;
        }
        return size;
    }

    private static void readFully(FileChannel in, byte[] buf, long position, int length) throws IOException {
        ByteBuffer target = ByteBuffer.wrap(buf, 0, length);
        long at = position;
        while (target.hasRemaining()) {
            int read = in.read(target, at); // positional: safe to share the channel between threads
            if (read < 0) {
                throw new IOException("input changed while running: file is shorter than before");
            }
            at += read;
        }
    }

    /** All rows in input order, with the row indices of each group. */
    private static final class Table {
        int rows;
        String[] episode;
        String[] anchor;
        int[] t;
        double[] reward;
        boolean[] valid;
        long[] line;
        int[] chunkFirstRow;
        final List<Group> groups = new ArrayList<>();

        static final class Group {
            final String name;
            int[] rows = new int[16];
            int size;

            Group(String name) {
                this.name = name;
            }

            void add(int row) {
                if (size == rows.length) {
                    rows = Arrays.copyOf(rows, size * 2);
                }
                rows[size++] = row;
            }
        }

        static Table merge(List<ParsedChunk> chunks) throws MalformedLineException {
            Table table = new Table();
            long total = 0;
            long lineBase = 0; // global line = lineBase + chunk-local line
            for (ParsedChunk c : chunks) {
                if (c.error != null) {
                    throw new MalformedLineException(lineBase + c.errorLine, c.error);
                }
                total += c.rows;
                if (total > Integer.MAX_VALUE - 8) {
                    throw new MalformedLineException(lineBase + c.localLine[0], "too many rows for one run");
                }
                lineBase += c.lineBreaks;
            }
            int n = (int) total;
            table.rows = n;
            table.episode = new String[n];
            table.anchor = new String[n];
            table.t = new int[n];
            table.reward = new double[n];
            table.valid = new boolean[n];
            table.line = new long[n];
            table.chunkFirstRow = new int[chunks.size()];
            Map<String, Group> byName = new HashMap<>();
            String lastName = null;
            Group last = null;
            int row = 0;
            lineBase = 0;
            for (int k = 0; k < chunks.size(); k++) {
                ParsedChunk c = chunks.get(k);
                table.chunkFirstRow[k] = row;
                System.arraycopy(c.episode, 0, table.episode, row, c.rows);
                System.arraycopy(c.anchor, 0, table.anchor, row, c.rows);
                System.arraycopy(c.t, 0, table.t, row, c.rows);
                System.arraycopy(c.reward, 0, table.reward, row, c.rows);
                System.arraycopy(c.valid, 0, table.valid, row, c.rows);
                for (int i = 0; i < c.rows; i++) {
                    table.line[row + i] = lineBase + c.localLine[i];
                    String name = c.group[i];
                    // Group names are interned per chunk and rows of a group tend to be adjacent.
                    if (name != lastName) {
                        last = byName.get(name);
                        if (last == null) {
                            last = new Group(name);
                            byName.put(name, last);
                            table.groups.add(last);
                        }
                        lastName = name;
                    }
                    last.add(row + i);
                }
                row += c.rows;
                lineBase += c.lineBreaks;
                c.dropColumns();
            }
            return table;
        }
    }

    // ---------------------------------------------------------------- compute

    private Results compute(Table table, ExecutorService pool) throws IOException, MalformedLineException {
        Results results = new Results(table.rows);
        List<Future<MalformedLineException>> tasks = new ArrayList<>();
        int perTask = Math.max(1, table.groups.size() / (threads * 8));
        for (int from = 0; from < table.groups.size(); from += perTask) {
            List<Table.Group> slice = table.groups.subList(from, Math.min(from + perTask, table.groups.size()));
            tasks.add(pool.submit(() -> computeGroups(slice, table, results)));
        }
        MalformedLineException first = null;
        for (Future<MalformedLineException> task : tasks) {
            MalformedLineException e = join(task);
            if (e != null && (first == null || e.lineNumber() < first.lineNumber())) {
                first = e;
            }
        }
        if (first != null) {
            throw first;
        }
        return results;
    }

    /** Fills the results of some groups; returns the first problem instead of throwing it. */
    private MalformedLineException computeGroups(List<Table.Group> groups, Table table, Results out) {
        for (Table.Group g : groups) {
            List<GigpoRow> rows = new ArrayList<>(g.size);
            for (int i = 0; i < g.size; i++) {
                int r = g.rows[i];
                rows.add(new GigpoRow(table.episode[r], table.t[r], table.anchor[r], table.reward[r], table.valid[r]));
            }
            List<GigpoResult> results;
            try {
                results = Gigpo.compute(rows, config);
            } catch (DuplicateStepException e) {
                long first = table.line[g.rows[e.firstRow()]];
                long second = table.line[g.rows[e.secondRow()]];
                return new MalformedLineException(second, "duplicate (group, episode, t) = ('" + g.name
                        + "', '" + e.episode() + "', " + e.t() + "), first seen on line " + first);
            } catch (IllegalArgumentException e) {
                return new MalformedLineException(table.line[g.rows[0]],
                        "group '" + g.name + "' starting on this line: " + e.getMessage());
            }
            for (int i = 0; i < g.size; i++) {
                GigpoResult r = results.get(i);
                int row = g.rows[i];
                out.episodeScore[row] = r.episodeScore();
                out.stepReturn[row] = r.stepReturn();
                out.anchorGroupSize[row] = r.anchorGroupSize();
                out.episodeAdvantage[row] = r.episodeAdvantage();
                out.stepAdvantage[row] = r.stepAdvantage();
                out.advantage[row] = r.advantage();
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- pass 2

    /** A formatter with its own buffers; one per chunk in flight. */
    private static final class Slot {
        byte[] in;
        final ChunkFormatter formatter;
        /** The formatted chunk, copied here by the worker so the writing thread's write() is a
         *  single copy into the page cache (a heap buffer is first copied to a direct one). */
        ByteBuffer direct;

        Slot(int chunkBytes) {
            in = new byte[chunkBytes];
            // Output lines are the input plus ~200 bytes of results each.
            formatter = new ChunkFormatter(new byte[chunkBytes * 2]);
        }
    }

    private void write(Path input, Path output, List<ParsedChunk> chunks, Table table, Results results,
            ExecutorService pool) throws IOException {
        Path target = output.toAbsolutePath();
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".", ".tmp");
        boolean done = false;
        try {
            usualPermissions(tmp, target);
            try (FileChannel in = FileChannel.open(input, StandardOpenOption.READ);
                    FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                int inFlight = 2 * threads;
                Deque<Slot> free = new ArrayDeque<>();
                for (int i = 0; i < inFlight; i++) {
                    free.add(new Slot(chunkBytes));
                }
                // Chunks are formatted in parallel and written in order by this thread; at most
                // inFlight are pending, so a free slot always exists when the next is submitted.
                Deque<Future<Slot>> pending = new ArrayDeque<>();
                for (int k = 0; k < chunks.size(); k++) {
                    if (pending.size() == inFlight) {
                        free.add(writeOut(join(pending.poll()), out));
                    }
                    Slot slot = free.poll();
                    ParsedChunk chunk = chunks.get(k);
                    int firstRow = table.chunkFirstRow[k];
                    pending.add(pool.submit(() -> formatChunk(slot, in, chunk, results, firstRow)));
                }
                while (!pending.isEmpty()) {
                    writeOut(join(pending.poll()), out);
                }
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Temp files are created owner-only; give the result the replaced file's or the usual mode. */
    private static void usualPermissions(Path tmp, Path target) throws IOException {
        if (!Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
            return;
        }
        Set<PosixFilePermission> mode = Files.exists(target)
                ? Files.getPosixFilePermissions(target)
                : PosixFilePermissions.fromString("rw-r--r--");
        Files.setPosixFilePermissions(tmp, mode);
    }

    private static Slot formatChunk(Slot slot, FileChannel in, ParsedChunk chunk, Results results, int firstRow)
            throws IOException {
        if (slot.in.length < chunk.byteLength) {
            slot.in = new byte[chunk.byteLength];
        }
        readFully(in, slot.in, chunk.fileOffset, chunk.byteLength);
        slot.formatter.format(slot.in, chunk, results, firstRow);
        int size = slot.formatter.size();
        if (slot.direct == null || slot.direct.capacity() < size) {
            slot.direct = ByteBuffer.allocateDirect(Math.max(size, slot.formatter.output().length));
        }
        slot.direct.clear();
        slot.direct.put(slot.formatter.output(), 0, size);
        slot.direct.flip();
        return slot;
    }

    private static Slot writeOut(Slot slot, FileChannel out) throws IOException {
        while (slot.direct.hasRemaining()) {
            out.write(slot.direct);
        }
        return slot;
    }

    // ---------------------------------------------------------------- plumbing

    private static byte[] take(BlockingQueue<byte[]> buffers) throws InterruptedIOException {
        try {
            return buffers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading");
        }
    }

    private static <T> T join(Future<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof UncheckedIOException io) {
                throw io.getCause();
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException(cause);
        }
    }
}
