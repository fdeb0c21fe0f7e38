package ai.factory.storage;

import java.sql.SQLException;

/** What the factory reads from the database's errors, the same on H2 and PostgreSQL. */
public final class Sql {
    /** The SQLSTATE of a unique or primary key violation, in the SQL standard's class 23 (integrity constraint). */
    private static final String UNIQUE_VIOLATION = "23505";

    private Sql() {}

    /**
     * Whether {@code e}, or any of its causes, is a unique violation: a row another transaction inserted first, which
     * callers answer as a conflict or retry.
     */
    public static boolean isUniqueViolation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && UNIQUE_VIOLATION.equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }
}
