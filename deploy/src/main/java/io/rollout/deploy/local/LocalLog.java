package io.rollout.deploy.local;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;

/**
 * Sends a local run's log to a file in its report directory, so the terminal shows only the run's
 * own status lines: every logger writes to the file at its configured level, and the console
 * appenders keep only errors. {@link #close()} puts the console back as it was (tests run several
 * commands in one JVM).
 */
final class LocalLog implements AutoCloseable {

    private static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%t] %c{1} - %msg%n";

    private final LoggerContext context;
    private final FileAppender file;
    private final List<Restore> restores = new ArrayList<>();

    private record Restore(LoggerConfig logger, Appender appender, Level level) {}

    private LocalLog(LoggerContext context, FileAppender file) {
        this.context = context;
        this.file = file;
    }

    /** Starts logging to {@code path} (appending) and quiets the console below ERROR. */
    static LocalLog redirect(Path path) {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        FileAppender file = FileAppender.newBuilder()
                .setName("local-run-file")
                .withFileName(path.toAbsolutePath().toString())
                .withAppend(true)
                .setLayout(PatternLayout.newBuilder().withPattern(PATTERN).withConfiguration(config).build())
                .setConfiguration(config)
                .build();
        file.start();
        config.addAppender(file);
        LocalLog log = new LocalLog(context, file);
        List<LoggerConfig> loggers = new ArrayList<>(config.getLoggers().values());
        if (!loggers.contains(config.getRootLogger())) {
            loggers.add(config.getRootLogger());
        }
        for (LoggerConfig logger : loggers) {
            for (Map.Entry<String, Appender> e : logger.getAppenders().entrySet()) {
                logger.removeAppender(e.getKey());
                log.restores.add(new Restore(logger, e.getValue(), null));
                logger.addAppender(e.getValue(), Level.ERROR, null);
            }
            if (logger.equals(config.getRootLogger()) || !logger.isAdditive()) {
                logger.addAppender(file, null, null);
            }
        }
        context.updateLoggers();
        return log;
    }

    @Override
    public void close() {
        for (Restore r : restores) {
            r.logger().removeAppender(r.appender().getName());
            r.logger().addAppender(r.appender(), r.level(), null);
        }
        for (LoggerConfig logger : context.getConfiguration().getLoggers().values()) {
            logger.removeAppender(file.getName());
        }
        context.getConfiguration().getRootLogger().removeAppender(file.getName());
        context.updateLoggers();
        file.stop();
    }
}
