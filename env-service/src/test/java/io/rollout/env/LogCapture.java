package io.rollout.env;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Property;

/**
 * Collects what the service logs while it is open (every logger the configuration lets
 * through, each event as its message and its stack trace), so a test can read the real log.
 */
public final class LogCapture implements AutoCloseable {

    private final List<String> events = new CopyOnWriteArrayList<>();
    private final LoggerContext context = (LoggerContext) LogManager.getContext(false);
    private final AbstractAppender appender;

    private LogCapture() {
        appender = new AbstractAppender("capture-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                StringBuilder text = new StringBuilder()
                        .append(event.getLevel()).append(' ').append(event.getLoggerName()).append(" - ")
                        .append(event.getMessage().getFormattedMessage());
                if (event.getThrown() != null) {
                    StringWriter trace = new StringWriter();
                    event.getThrown().printStackTrace(new PrintWriter(trace));
                    text.append('\n').append(trace);
                }
                events.add(text.toString());
            }
        };
    }

    /** Starts capturing. */
    public static LogCapture start() {
        LogCapture capture = new LogCapture();
        capture.appender.start();
        Configuration config = capture.context.getConfiguration();
        config.getRootLogger().addAppender(capture.appender, Level.ALL, null);
        capture.context.updateLoggers();
        return capture;
    }

    /** The events so far, oldest first. */
    public List<String> events() {
        return List.copyOf(events);
    }

    /** Every event so far in one text. */
    public String text() {
        return String.join("\n", events);
    }

    @Override
    public void close() {
        context.getConfiguration().getRootLogger().removeAppender(appender.getName());
        context.updateLoggers();
        appender.stop();
    }
}
