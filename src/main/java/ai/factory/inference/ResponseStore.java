package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.security.content.AuditContent;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Predicate;
import org.jdbi.v3.core.Jdbi;

/**
 * Conversations kept between calls (the Responses API's {@code store}, {@code previous_response_id} and
 * {@code GET /v1/responses/{id}}), for projects that keep the text of their calls at all: each is logged content of its
 * project ({@link AuditContent}), so it is encrypted under the project's keys, expires with the site's
 * {@code audit.contentRetention}, and is shredded with the project. A project without content logging keeps none.
 */
public final class ResponseStore {
    private final Jdbi jdbi;
    private final AuditContent content;
    private final Predicate<String> contentLogged;
    private final Clock clock;

    /** @param contentLogged whether a project keeps the text of its calls */
    public ResponseStore(Jdbi jdbi, AuditContent content, Predicate<String> contentLogged, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.content = requireNonNull(content, "content is null");
        this.contentLogged = requireNonNull(contentLogged, "contentLogged is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Whether {@code project} keeps conversations. */
    public boolean keeps(String project) {
        return contentLogged.test(project);
    }

    /** Keeps a conversation of {@code project} under {@code id}. */
    public void put(String project, String id, byte[] document) {
        var at = clock.instant();
        String sha256 = content.store(project, id, at, document);
        jdbi.useHandle(h -> h.createUpdate("INSERT INTO stored_responses (owner, id, sha256, at) VALUES (:o, :id, :s, :at)")
                .bind("o", project).bind("id", id).bind("s", sha256).bind("at", Timestamp.from(at)).execute());
    }

    /** The conversation {@code project} keeps under {@code id}, if any (expired and shredded ones are gone). */
    public Optional<byte[]> get(String project, String id) {
        return sha256(project, id).map(sha256 -> content.read(project, sha256).content());
    }

    /** Destroys a kept conversation; false when there was none. */
    public boolean delete(String project, String id) {
        return sha256(project, id).map(sha256 -> content.delete(project, sha256)).orElse(false);
    }

    private Optional<String> sha256(String project, String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT sha256 FROM stored_responses WHERE owner = :o AND id = :id")
                .bind("o", project).bind("id", id).mapTo(String.class).findOne());
    }
}
