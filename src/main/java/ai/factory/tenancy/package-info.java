@NullMarked
package ai.factory.tenancy;

import org.jspecify.annotations.NullMarked;
