package ai.factory.security;

/**
 * What a request asks to do, as Cedar's {@code Action::"id"}. Every HTTP route names exactly one; the built-in
 * policies and the schema ({@code factory.cedarschema}) list the same ids.
 */
public enum Action {
    INVOKE("invoke"),
    READ_MODEL("readModel"),
    IMPORT_MODEL("importModel"),
    /** Importing a file that lies on the server's own disk: site admins only. */
    IMPORT_FROM_SERVER("importFromServer"),
    DELETE_MODEL("deleteModel"),
    /** Signing a registered model version with the site's key, or giving it a signature: site admins only. */
    SIGN_MODEL("signModel"),
    /** Exporting models (their plaintext weights) and the factory itself as a signed bundle: site admins only. */
    EXPORT_BUNDLE("exportBundle"),
    /** Importing a signed bundle's models: site admins only. */
    IMPORT_BUNDLE("importBundle"),
    CLASSIFY_MODEL("classifyModel"),
    DEPLOY("deploy"),
    READ_DEPLOYMENT("readDeployment"),
    UNDEPLOY("undeploy"),
    READ_KEYS("readKeys"),
    MANAGE_KEYS("manageKeys"),
    READ_PROJECTS("readProjects"),
    MANAGE_PROJECTS("manageProjects"),
    MANAGE_POLICIES("managePolicies"),
    READ_AUDIT("readAudit"),
    READ_FLEET("readFleet"),
    /** A project's consumption: requests and tokens by model (project admins for their own, auditors and admins). */
    READ_USAGE("readUsage"),
    /** The Prometheus metrics ({@code /metrics}): every project's models and traffic, so site-wide roles only. */
    READ_METRICS("readMetrics"),
    /** Rotating the master key or a project's key-encryption key: site admins only. */
    MANAGE_ENCRYPTION("manageEncryption"),
    /** Join tokens, draining and removing the nodes of a multi-node factory: site admins only. */
    MANAGE_NODES("manageNodes"),
    /** Uploading a fine-tuning dataset into a project. */
    UPLOAD_DATASET("uploadDataset"),
    READ_DATASET("readDataset"),
    DELETE_DATASET("deleteDataset"),
    /** Starting a training (fine-tuning) job in a project. */
    TRAIN("train"),
    READ_TRAINING_JOB("readTrainingJob"),
    CANCEL_TRAINING_JOB("cancelTrainingJob"),
    /** A project's limits and its keys' (every role in the project, auditors everywhere). */
    READ_QUOTAS("readQuotas"),
    /**
     * Setting limits: a project's own (and its models') need {@code manageProjects} too, so only admins set them;
     * project admins set their keys' limits within the project's.
     */
    MANAGE_QUOTAS("manageQuotas"),
    /** Setting the site's chargeback rates: site admins only. */
    MANAGE_RATES("manageRates"),
    /** Who the caller is and what it may do in its project (the console shows each person what they may use). */
    READ_SELF("readSelf");

    private final String id;

    Action(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }
}
