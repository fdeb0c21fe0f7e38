package ai.factory.api;

/** A group of HTTP endpoints that registers itself on the server's routing, each endpoint with its action. */
@FunctionalInterface
public interface Routes {
    void addTo(GuardedRoutes routes);
}
