package ai.factory.storage;

import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.SqlLogger;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Every statement a {@link Jdbi} executes while this is installed (Jdbi's own {@link SqlLogger} hook, which sees each
 * query, update and batch as it runs), with the thread that ran it: for tests that count what an operation costs
 * the database. Closing it uninstalls it.
 */
public final class StatementCounter implements SqlLogger, AutoCloseable {
    /** One executed statement: its SQL as written (whitespace folded) and the thread that ran it. */
    public record Statement(String sql, String thread) {}

    private final Jdbi jdbi;
    private final List<Statement> seen = new CopyOnWriteArrayList<>();

    private StatementCounter(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Starts counting the statements of {@code jdbi}, of handles opened from now on. */
    public static StatementCounter install(Jdbi jdbi) {
        StatementCounter counter = new StatementCounter(jdbi);
        jdbi.setSqlLogger(counter);
        return counter;
    }

    @Override
    public void logAfterExecution(StatementContext context) {
        seen.add(new Statement(context.getRawSql().strip().replaceAll("\\s+", " "), Thread.currentThread().getName()));
    }

    @Override
    public void logException(StatementContext context, SQLException ex) {
        logAfterExecution(context);
    }

    public List<Statement> statements() {
        return List.copyOf(seen);
    }

    /** The SQL of every statement so far, in order. */
    public List<String> sql() {
        return seen.stream().map(Statement::sql).toList();
    }

    /** Runs {@code action} and returns the SQL of the statements it ran (on this thread or any other meanwhile). */
    public List<String> during(Runnable action) {
        seen.clear();
        action.run();
        return sql();
    }

    public void clear() {
        seen.clear();
    }

    @Override
    public void close() {
        jdbi.setSqlLogger(SqlLogger.NOP_SQL_LOGGER);
    }
}
