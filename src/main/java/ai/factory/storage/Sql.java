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

    /**
     * Whether {@code jdbi} talks to embedded H2, which stores a commit from a background thread: a process killed
     * moments after a commit loses it unless a {@code CHECKPOINT} follows (PostgreSQL has kept every commit that
     * returned).
     */
    public static boolean isH2(org.jdbi.v3.core.Jdbi jdbi) {
        return "H2".equals(jdbi.withHandle(h -> {
            try {
                return h.getConnection().getMetaData().getDatabaseProductName();
            } catch (java.sql.SQLException e) {
                return "";
            }
        }));
    }
}
