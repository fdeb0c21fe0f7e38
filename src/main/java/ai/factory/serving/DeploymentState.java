package ai.factory.serving;

/** Where a deployment is in its life: Pending → Loading → Ready, or Failed with a reason. */
public enum DeploymentState {
    PENDING,
    LOADING,
    READY,
    FAILED;

    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
