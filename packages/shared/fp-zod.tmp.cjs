require('zod');
const files = Object.keys(require.cache).filter(f => f.includes('/zod/'));
console.log(files.length); console.log(files.map(f=>f.split('/zod/')[1]).join(' '));
