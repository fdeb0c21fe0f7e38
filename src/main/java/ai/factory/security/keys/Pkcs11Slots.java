package ai.factory.security.keys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds a PKCS#11 token's slot id by its label. SunPKCS11 is configured by slot only, and HSMs (SoftHSM2 among them)
 * give a token a new random slot id when it is initialised, so a site names its token by label and this asks the
 * module itself, through its function list: {@code C_Initialize}, {@code C_GetSlotList(tokenPresent)},
 * {@code C_GetTokenInfo}, whose first field is the 32-byte blank-padded label. Neither the JDK nor a library offers
 * this lookup. The module is left initialised: SunPKCS11 initialises it again, which a module answers with
 * {@code CKR_CRYPTOKI_ALREADY_INITIALIZED} and SunPKCS11 accepts, while finalising it here could end sessions that
 * another provider of this process holds.
 *
 * <p>Only for 64-bit Linux and macOS, where {@code CK_ULONG} is 64 bits and the structures are packed naturally.
 */
final class Pkcs11Slots {
    private static final long CKR_OK = 0;
    private static final long CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
    // Index of each function pointer in CK_FUNCTION_LIST, after its CK_VERSION (padded to 8 bytes).
    private static final int C_INITIALIZE = 0;
    private static final int C_GET_SLOT_LIST = 4;
    private static final int C_GET_TOKEN_INFO = 6;
    private static final int LABEL_BYTES = 32;
    // sizeof(CK_TOKEN_INFO) is 208 on LP64; the buffer is larger to be safe with any module.
    private static final int TOKEN_INFO_BYTES = 512;

    private Pkcs11Slots() {}

    @SuppressWarnings("restricted")
    static long findByLabel(Path library, String label) {
        Linker linker = Linker.nativeLinker();
        List<String> seen = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup module = SymbolLookup.libraryLookup(library, Arena.global());
            MethodHandle getFunctionList = linker.downcallHandle(module.find("C_GetFunctionList").orElseThrow(() ->
                    new FactoryException(ErrorCode.UNAVAILABLE, library + " is not a PKCS#11 module (no C_GetFunctionList)")),
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS));
            MemorySegment listPointer = arena.allocate(ADDRESS);
            check((long) getFunctionList.invokeExact(listPointer), "C_GetFunctionList", CKR_OK);
            MemorySegment functions = listPointer.get(ADDRESS, 0).reinterpret(8 + 8 * 80L);

            MethodHandle initialize = linker.downcallHandle(function(functions, C_INITIALIZE),
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS));
            check((long) initialize.invokeExact(MemorySegment.NULL), "C_Initialize", CKR_CRYPTOKI_ALREADY_INITIALIZED);

            MethodHandle getSlotList = linker.downcallHandle(function(functions, C_GET_SLOT_LIST),
                    FunctionDescriptor.of(JAVA_LONG, JAVA_BYTE, ADDRESS, ADDRESS));
            MemorySegment count = arena.allocate(JAVA_LONG);
            check((long) getSlotList.invokeExact((byte) 1, MemorySegment.NULL, count), "C_GetSlotList", CKR_OK);
            long n = count.get(JAVA_LONG, 0);
            MemorySegment slots = arena.allocate(JAVA_LONG, Math.max(1, n));
            check((long) getSlotList.invokeExact((byte) 1, slots, count), "C_GetSlotList", CKR_OK);
            n = count.get(JAVA_LONG, 0);

            MethodHandle getTokenInfo = linker.downcallHandle(function(functions, C_GET_TOKEN_INFO),
                    FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS));
            MemorySegment info = arena.allocate(TOKEN_INFO_BYTES);
            for (int i = 0; i < n; i++) {
                long slot = slots.getAtIndex(JAVA_LONG, i);
                if ((long) getTokenInfo.invokeExact(slot, info) != CKR_OK) {
                    continue;
                }
                String tokenLabel = new String(info.asSlice(0, LABEL_BYTES).toArray(JAVA_BYTE), StandardCharsets.UTF_8).strip();
                if (tokenLabel.equals(label)) {
                    return slot;
                }
                seen.add(tokenLabel);
            }
        } catch (FactoryException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot load the PKCS#11 module " + library + ": "
                    + e.getMessage(), e);
        } catch (Throwable e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot list the tokens of " + library + ": " + e, e);
        }
        throw new FactoryException(ErrorCode.UNAVAILABLE, "no token labelled '" + label + "' in " + library
                + " (tokens present: " + (seen.isEmpty() ? "none" : String.join(", ", seen)) + ")");
    }

    private static MemorySegment function(MemorySegment list, int index) {
        return list.get(ADDRESS, 8 + 8L * index);
    }

    private static void check(long rv, String function, long alsoFine) {
        if (rv != CKR_OK && rv != alsoFine) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, function + " failed with CKR 0x" + Long.toHexString(rv));
        }
    }
}
