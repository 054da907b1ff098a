// Independent verifiers of eid's e-residence card, driven by tests/wallet/test_vc_peers.py:
//   node driver.mjs sdjwt  < {presentation, rootPem, audience, nonce}
//     @sd-jwt/sd-jwt-vc (+ @sd-jwt/crypto-nodejs, @sd-jwt/jwt-status-list inside it) verifies
//     the issuer signature with the x5c leaf key, the disclosures, the key binding (nonce; the
//     audience is checked here), the status list (fetched live, its own x5c checked) and the type
//     metadata (fetched from the vct URL, integrity checked, schema validated by the library).
//   node driver.mjs mdoc   < {issuerSigned (base64url CBOR), rootPem, docType}
//     @animo-id/mdoc verifies the MSO signature (COSE_Sign1, key from the x5chain), the chain to
//     the pinned root (validateCertificateChain below), validity, and every element's digest.
// The chain checks use Node's own X509Certificate: each certificate issued and signed by the
// next, the last by the pinned root, all within their validity now.
// Answers one JSON line on stdout: {ok: true, ...} or {ok: false, error}.
import { createHash, createPublicKey, verify as nodeVerify, X509Certificate } from 'node:crypto'
import { digest, ES256 } from '@sd-jwt/crypto-nodejs'
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { parseIssuerSigned, Verifier } from '@animo-id/mdoc'

const MDOC_DS_EKU = '1.0.18013.5.1.2'

const b64urlJson = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))

function checkChain(chainDer, rootPem, { eku } = {}) {
  const root = new X509Certificate(rootPem)
  let certs = chainDer.map((der) => new X509Certificate(der))
  if (certs.length && certs[certs.length - 1].raw.equals(root.raw)) certs = certs.slice(0, -1)
  if (!certs.length) throw new Error('no certificate below the root')
  const now = new Date()
  const parents = [...certs.slice(1), root]
  certs.forEach((cert, i) => {
    const parent = parents[i]
    if (!cert.checkIssued(parent)) throw new Error(`${cert.subject} is not issued by ${parent.subject}`)
    if (!cert.verify(parent.publicKey)) throw new Error(`${cert.subject}: signature does not verify`)
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) throw new Error(`${cert.subject}: not valid now`)
  })
  if (eku && !(certs[0].keyUsage || []).includes(eku)) throw new Error(`leaf lacks extended key usage ${eku}`)
  return certs[0]
}

function verifyRaw(jwk, data, signature) {
  const key = createPublicKey({ key: jwk, format: 'jwk' })
  if (jwk.kty === 'OKP') return nodeVerify(null, data, key, signature)
  const hash = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' }[jwk.crv]
  return nodeVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
}

async function readInput() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

async function sdjwt(input) {
  try {
    return await verifySdJwt(input)
  } catch (err) {
    return { ok: false, error: String(err?.message || err) }
  }
}

async function verifySdJwt({ presentation, rootPem, audience, nonce }) {
  const issuerJwt = presentation.split('~')[0]
  const header = b64urlJson(issuerJwt.split('.')[0])
  const leaf = checkChain((header.x5c || []).map((c) => Buffer.from(c, 'base64')), rootPem)
  const issuerVerifier = await ES256.getVerifier(leaf.publicKey.export({ format: 'jwk' }))
  let statusListVerifier
  let statusListJwt
  let statusSeen
  let typeMetadataBytes
  const instance = new SDJwtVcInstance({
    hasher: digest,
    verifier: issuerVerifier,
    // The status list JWT carries its own x5c: checked against the same pinned root.
    statusListFetcher: async (uri) => {
      const response = await fetch(uri, { headers: { Accept: 'application/statuslist+jwt' } })
      if (!response.ok) throw new Error(`status list ${response.status}`)
      statusListJwt = await response.text()
      const slHeader = b64urlJson(statusListJwt.split('.')[0])
      const slLeaf = checkChain(slHeader.x5c.map((c) => Buffer.from(c, 'base64')), rootPem)
      statusListVerifier = await ES256.getVerifier(slLeaf.publicKey.export({ format: 'jwk' }))
      return statusListJwt
    },
    statusVerifier: (data, sig) => statusListVerifier(data, sig),
    statusValidator: async (status) => {
      statusSeen = status
      if (status !== 0) throw new Error(`status is ${status}`)
    },
    // The draft's vct#integrity is W3C SRI (base64 of the digest); this library version compares
    // hex, so the fetch and the SRI check are done here and the library validates the document.
    loadTypeMetadataFormat: true,
    vctFetcher: async (uri, integrity) => {
      const response = await fetch(uri)
      if (!response.ok) throw new Error(`vct ${uri}: ${response.status}`)
      typeMetadataBytes = Buffer.from(await response.arrayBuffer())
      const [alg, expected] = (integrity || '').split('-')
      if (alg !== 'sha256') throw new Error(`vct#integrity missing or not sha256: ${integrity}`)
      const actual = createHash('sha256').update(typeMetadataBytes).digest('base64')
      if (actual !== expected) throw new Error(`vct#integrity mismatch: ${actual} != ${expected}`)
      return JSON.parse(typeMetadataBytes.toString('utf8'))
    },
    kbVerifier: async (data, sig, payload) => {
      const jwk = payload?.cnf?.jwk
      if (!jwk) throw new Error('no cnf.jwk')
      return verifyRaw(jwk, Buffer.from(data), Buffer.from(sig, 'base64url'))
    },
  })
  try {
    const result = await instance.verify(presentation, { keyBindingNonce: nonce })
    if (result.kb?.payload?.aud !== audience) throw new Error(`KB-JWT audience ${result.kb?.payload?.aud}`)
    const claims = await instance.getClaims(presentation)
    return {
      ok: true,
      header: result.header,
      claims,
      status: statusSeen,
      kb: result.kb.payload,
      typeMetadata: result.typeMetadata?.mergedTypeMetadata,
      leafSubject: leaf.subject,
    }
  } catch (err) {
    // What the status list says, read again with @sd-jwt/jwt-status-list (a suspended card).
    let status = statusSeen
    if (status === undefined && statusListJwt) {
      const idx = b64urlJson(issuerJwt.split('.')[1]).status.status_list.idx
      status = getListFromStatusListJWT(statusListJwt).getStatus(idx)
    }
    return { ok: false, error: String(err?.message || err), status }
  }
}

const x509Context = (rootPem) => ({
  getIssuerNameField: ({ certificate, field }) =>
    new X509Certificate(Buffer.from(certificate))
      .issuer.split('\n')
      .filter((line) => line.startsWith(`${field}=`))
      .map((line) => line.slice(field.length + 1)),
  getPublicKey: ({ certificate }) =>
    new X509Certificate(Buffer.from(certificate)).publicKey.export({ format: 'jwk' }),
  validateCertificateChain: ({ trustedCertificates, x5chain }) => {
    const pinned = new X509Certificate(rootPem)
    if (!trustedCertificates.some((c) => Buffer.from(c).equals(pinned.raw))) throw new Error('root not pinned')
    checkChain(x5chain.map((c) => Buffer.from(c)), rootPem, { eku: MDOC_DS_EKU })
  },
  getCertificateData: ({ certificate }) => {
    const cert = new X509Certificate(Buffer.from(certificate))
    return {
      issuerName: cert.issuer,
      subjectName: cert.subject,
      serialNumber: cert.serialNumber,
      thumbprint: cert.fingerprint256,
      notBefore: new Date(cert.validFrom),
      notAfter: new Date(cert.validTo),
      pem: cert.toString(),
    }
  },
})

const coseContext = {
  sign1: {
    sign: () => {
      throw new Error('the verifier signs nothing')
    },
    verify: ({ sign1, jwk, options }) => {
      const { data, signature } = sign1.getRawVerificationData(options)
      return verifyRaw(jwk, Buffer.from(data), Buffer.from(signature))
    },
  },
  mac0: {
    sign: () => {
      throw new Error('unused')
    },
    verify: () => {
      throw new Error('unused')
    },
  },
}

const cryptoContext = {
  random: (length) => new Uint8Array(Buffer.alloc(length)),
  digest: ({ digestAlgorithm, bytes }) =>
    new Uint8Array(createHash(digestAlgorithm.replace('-', '').toLowerCase()).update(bytes).digest()),
  calculateEphemeralMacKeyJwk: () => {
    throw new Error('unused')
  },
}

async function mdoc({ issuerSigned, rootPem, docType }) {
  const checks = []
  const onCheckG = (check) => checks.push(check)
  try {
    const document = parseIssuerSigned(new Uint8Array(Buffer.from(issuerSigned, 'base64url')), docType)
    const verifier = new Verifier()
    const root = new X509Certificate(rootPem)
    const x509 = x509Context(rootPem)
    await verifier.verifyIssuerSignature(
      {
        trustedCertificates: [new Uint8Array(root.raw)],
        issuerAuth: document.issuerSigned.issuerAuth,
        disableCertificateChainValidation: false,
        onCheckG,
      },
      { x509, cose: coseContext },
    )
    await verifier.verifyData({ mdoc: document, onCheckG }, { x509, crypto: cryptoContext })
    const failed = checks.filter((c) => c.status === 'FAILED')
    const mso = document.issuerSigned.issuerAuth.decodedPayload
    const elements = {}
    for (const [ns, items] of document.issuerSigned.nameSpaces.entries()) {
      elements[ns] = Object.fromEntries(items.map((item) => [item.elementIdentifier, String(item.elementValue)]))
    }
    return {
      ok: failed.length === 0,
      error: failed.map((c) => `${c.check}${c.reason ? `: ${c.reason}` : ''}`).join('; ') || undefined,
      passed: checks.filter((c) => c.status === 'PASSED').map((c) => c.check),
      docType: mso.docType,
      validUntil: mso.validityInfo.validUntil.toISOString(),
      elements,
    }
  } catch (err) {
    return { ok: false, error: String(err?.stack || err), passed: checks.filter((c) => c.status === 'PASSED').map((c) => c.check) }
  }
}

const command = process.argv[2]
const input = await readInput()
const answer = command === 'sdjwt' ? await sdjwt(input) : command === 'mdoc' ? await mdoc(input) : { ok: false, error: `unknown command ${command}` }
process.stdout.write(`${JSON.stringify(answer)}\n`)
