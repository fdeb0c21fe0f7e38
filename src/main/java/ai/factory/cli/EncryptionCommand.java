package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.EncryptionWire;
import ai.factory.api.codec.admin.EncryptionWire.Kek;
import ai.factory.api.codec.admin.EncryptionWire.Master;
import ai.factory.api.codec.admin.EncryptionWire.MasterRotation;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code factory encryption …}: the key hierarchy that encrypts every blob (status: admin or auditor; rotation: admin). */
@Command(name = "encryption", mixinStandardHelpOptions = true,
        description = "The customer-held keys: the site master key (local keystore or HSM) and each project's "
                + "key-encryption key; rotate the master key. A project's own key rotates with 'factory projects rotate-key'.")
final class EncryptionCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Status.class, RotateMaster.class);

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Where the master key lives, its versions, and every key-encryption key (never a key).")
    static final class Status implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            EncryptionWire.Status result = client.client().get("/api/v1/encryption", EncryptionWire.Status.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Master m = result.master();
            out.printf("Master key: %s at %s, versions %s, current %d%n%n", m.provider(), m.location(),
                    Json.mapper().valueToTree(m.versions()), m.current());
            kekTable(result.keys()).print(out);
            out.flush();
            return 0;
        }
    }

    @Command(name = "rotate-master", mixinStandardHelpOptions = true,
            description = "Create a new master key version and re-wrap every key-encryption key under it (no data is "
                    + "re-encrypted).")
    static final class RotateMaster implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--destroy-previous", description = "Then destroy every earlier master version: copies of the "
                + "old wrapped keys (database backups, free pages) can never be unwrapped again.")
        boolean destroyPrevious;

        @Override
        public Integer call() {
            MasterRotation r = client.client().post("/api/v1/encryption/rotate-master",
                    new EncryptionWire.RotateMaster(destroyPrevious), MasterRotation.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, r);
            } else {
                out.printf("Master key rotated: version %d -> %d, %d key-encryption key(s) re-wrapped%s%n",
                        r.previousVersion(), r.version(), r.keksRewrapped(), r.destroyedVersions().isEmpty() ? ""
                                : "; destroyed versions " + Json.mapper().valueToTree(r.destroyedVersions()));
                out.flush();
            }
            return 0;
        }
    }

    /** The key-encryption keys as a table ({@code _site} is the site's own). */
    static Table kekTable(List<Kek> keys) {
        Table table = new Table("PROJECT", "KEK VERSION", "MASTER VERSION", "DATA KEYS", "CREATED", "ROTATED");
        for (Kek k : keys) {
            // String.valueOf: a missing date reads "null", as it always has in this table.
            table.row(k.project(), k.kekVersion(), k.masterKeyVersion(), k.dataKeys(), String.valueOf(k.createdAt()),
                    String.valueOf(k.rotatedAt()));
        }
        return table;
    }
}
