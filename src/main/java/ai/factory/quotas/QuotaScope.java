package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

/**
 * Whom a quota limits: a project, or one of its keys, and either on every model or on one.
 *
 * @param key the key's id (the caller's principal id), or {@code ""} for every key of the project
 * @param model the model's name without version ({@code acme/tiny}), or {@code ""} for every model
 */
public record QuotaScope(String project, String key, String model) {
    public QuotaScope {
        requireNonNull(project, "project is null");
        requireNonNull(key, "key is null");
        requireNonNull(model, "model is null");
        if (project.isEmpty()) {
            throw new IllegalArgumentException("a quota names its project");
        }
    }

    /** The whole project on every model. */
    public static QuotaScope project(String project) {
        return new QuotaScope(project, "", "");
    }

    public boolean isKey() {
        return !key.isEmpty();
    }

    public boolean isModel() {
        return !model.isEmpty();
    }

    /** The scope above this one whose limits bound it: the project's (on the same model, or on all). */
    QuotaScope projectWide() {
        return new QuotaScope(project, "", model);
    }

    /** As an error message and the audit trail name it: {@code project acme}, {@code key k1 of project acme on model m}. */
    public String describe() {
        String who = isKey() ? "key " + key + " of project " + project : "project " + project;
        return isModel() ? who + " on model " + model : who;
    }

    /** As the audit trail's detail names it: {@code project=acme,key=k1,model=acme/tiny}. */
    public String id() {
        return "project=" + project + (isKey() ? ",key=" + key : "") + (isModel() ? ",model=" + model : "");
    }
}
