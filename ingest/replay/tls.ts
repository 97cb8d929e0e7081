import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

// A self-signed certificate for `--tls` (https:// and wss:// on 127.0.0.1 / localhost), made once
// with the system's `openssl` (node:crypto makes keys but not X.509 certificates) and reused.
// Clients must trust `cert.pem` (e.g. NODE_EXTRA_CA_CERTS, curl --cacert, ssl.create_default_context(cafile=…)).

export interface TlsFiles {
  cert: string
  key: string
  path: string
}

export function defaultTlsDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'crypto-streams', 'replay-tls')
}

export function tlsCertificate(dir = defaultTlsDir()): TlsFiles {
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true })
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '3650',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'pipe' },
      )
    } catch (e) {
      throw new Error(
        `replay --tls: could not make a certificate with openssl in ${dir} (${(e as Error).message}); install openssl or pass {cert, key}`,
      )
    }
  }
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), path: cert }
}
