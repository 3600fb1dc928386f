for (const s of process.argv.slice(2)) await import(s);
gc(); gc();
process.stdout.write(process.argv.slice(2).join(' ').replace(/\.\/dist\//g,'') + ': ' + (process.memoryUsage().heapUsed/1e6).toFixed(2) + '\n');
