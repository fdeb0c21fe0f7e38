// The console is served by the factory at /console/; its assets are named by their content and never change.
export default {
  base: '/console/',
  build: {
    target: 'es2022',
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
};
