package ai.factory.security;

import static java.util.Objects.requireNonNull;

import ai.factory.identity.Principal;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The site's own Cedar policies, kept in the database and loaded into the {@link Authorizer} at start and after
 * every change. A policy file is validated against the factory's schema before it is stored, so a stored policy
 * always loads.
 */
public final class SitePolicies {
    private static final Logger LOG = LoggerFactory.getLogger(SitePolicies.class);
    /** Large enough for any hand-written policy file, small enough to keep in one column. */
    public static final int MAX_SOURCE_CHARS = 100_000;

    private final Jdbi jdbi;
    private final Clock clock;
    private final Authorizer authorizer;

    public SitePolicies(Jdbi jdbi, Clock clock, Authorizer authorizer) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.authorizer = requireNonNull(authorizer, "authorizer is null");
    }

    /** Loads the stored policies into the authorizer. */
    public void load() {
        List<SitePolicy> all = list();
        authorizer.useSitePolicies(all);
        LOG.info("{} site policy file(s) in force", all.size());
    }

    public SitePolicy add(String source, Principal by) {
        if (source != null && source.length() > MAX_SOURCE_CHARS) {
            throw new FactoryException(ErrorCode.PAYLOAD_TOO_LARGE,
                    "the policy file is larger than " + MAX_SOURCE_CHARS + " characters");
        }
        authorizer.validate(source);
        SitePolicy policy = new SitePolicy("pol-" + UUID.randomUUID(), source, clock.instant(), by.id());
        jdbi.useHandle(h -> h.createUpdate("INSERT INTO site_policies (id, source, created_at, created_by) "
                        + "VALUES (:id, :src, :at, :by)")
                .bind("id", policy.id()).bind("src", source).bind("at", Timestamp.from(policy.createdAt()))
                .bind("by", by.id()).execute());
        load();
        LOG.info("site policy {} added by {}", policy.id(), by.id());
        return policy;
    }

    public List<SitePolicy> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT id, source, created_at, created_by FROM site_policies "
                        + "ORDER BY created_at, id")
                .map((rs, ctx) -> new SitePolicy(rs.getString("id"), rs.getString("source"),
                        rs.getTimestamp("created_at").toInstant(), rs.getString("created_by")))
                .list());
    }

    public SitePolicy get(String id) {
        return list().stream().filter(p -> p.id().equals(id)).findFirst()
                .orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "no site policy '" + id + "'"));
    }

    public SitePolicy delete(String id, Principal by) {
        SitePolicy policy = get(id);
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM site_policies WHERE id = :id").bind("id", id).execute());
        load();
        LOG.info("site policy {} deleted by {}", id, by.id());
        return policy;
    }
}
