package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import java.time.Instant;
import java.util.List;

/** {@code /api/v1/policies}: site Cedar policies and the schema they are validated against. */
public final class PolicyWire {
    private PolicyWire() {}

    /** {@code POST /api/v1/policies}: the Cedar source. */
    public record AddPolicy(String policy) {
        public AddPolicy {
            if (policy == null) {
                throw missing();
            }
        }

        public static FactoryException missing() {
            return FactoryException.invalidParam("policy", "'policy' is required: the Cedar source as a string");
        }
    }

    public record Policy(String id, String source, Instant createdAt, String createdBy) {
        public Policy {
            requireNonNull(id, "id is null");
        }
    }

    public record PolicyList(List<Policy> policies) {
        public PolicyList {
            policies = List.copyOf(requireNonNull(policies, "policies is null"));
        }
    }

    /** The Cedar schema, as text. */
    public record Schema(String schema) {
        public Schema {
            requireNonNull(schema, "schema is null");
        }
    }
}
