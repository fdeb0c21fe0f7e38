package ai.factory.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which server files a {@code file://} URI may name: only those under the import root, links followed. */
class SiteFilesTest {
    @TempDir
    Path root;
    @TempDir
    Path elsewhere;

    private SiteFiles files() {
        return new SiteFiles(Optional.of(root));
    }

    @Test
    void namesFilesAndFoldersUnderTheRoot() throws IOException {
        Path data = Files.writeString(root.resolve("data.jsonl"), "{}");

        assertThat(files().file(data.toUri().toString(), "f")).isEqualTo(data.toRealPath());
        assertThat(files().folder(root.resolve("out/new").toUri().toString(), "f"))
                .isEqualTo(root.toRealPath().resolve("out/new"));
        assertThat(files().folder(root.toUri().toString(), "f")).isEqualTo(root.toRealPath());
    }

    @Test
    void refusesWhatLiesOutsideTheRootEvenThroughALink() throws IOException {
        Path outside = Files.writeString(elsewhere.resolve("secret.jsonl"), "{}");
        Path link = Files.createSymbolicLink(root.resolve("link.jsonl"), outside);
        Path folderLink = Files.createSymbolicLink(root.resolve("away"), elsewhere);

        for (String uri : new String[] {outside.toUri().toString(), link.toUri().toString(),
                "file://" + root + "/../" + elsewhere.getFileName() + "/secret.jsonl"}) {
            assertThatThrownBy(() -> files().file(uri, "trainingDataConfig.s3Uri")).as(uri)
                    .isInstanceOf(FactoryException.class).hasMessageContaining("outside the import root")
                    .hasMessageContaining("trainingDataConfig.s3Uri");
        }
        assertThatThrownBy(() -> files().folder(folderLink.resolve("out").toUri().toString(), "o"))
                .hasMessageContaining("outside the import root");
        assertThatThrownBy(() -> files().folder(elsewhere.toUri().toString(), "o"))
                .hasMessageContaining("outside the import root");
    }

    @Test
    void refusesOtherSchemesMissingFilesAndNoRoot() throws IOException {
        Path data = Files.writeString(root.resolve("data.jsonl"), "{}");

        assertThatThrownBy(() -> files().file("s3://bucket/data.jsonl", "f")).hasMessageContaining("S3");
        assertThatThrownBy(() -> files().file("https://example.com/data.jsonl", "f"))
                .hasMessageContaining("file:///absolute/path");
        assertThatThrownBy(() -> files().file("file:///%zz", "f")).hasMessageContaining("not a valid URI");
        assertThatThrownBy(() -> files().file(root.resolve("none.jsonl").toUri().toString(), "f"))
                .hasMessageContaining("no such file");
        assertThatThrownBy(() -> files().file(root.toUri().toString(), "f")).hasMessageContaining("not a file");
        assertThatThrownBy(() -> files().folder(data.resolve("sub").toUri().toString(), "f"))
                .hasMessageContaining("not a folder");
        assertThatThrownBy(() -> new SiteFiles(Optional.empty()).file(data.toUri().toString(), "f"))
                .hasMessageContaining("models.importRoot");
    }
}
