import assert from 'node:assert/strict'
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {type CgroupPod, parseProcCgroup, podFromCgroup, podFromCgroupPath} from '../../src/sandbox/cgroup.js'
import {indexPodLogDirs, parsePodLogDir} from '../../src/sandbox/kubelet-logs.js'
import {parsePodmanPs} from '../../src/sandbox/podman.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url))
const text = (rel: string): string => readFileSync(join(FIXTURES, rel), 'utf8')
const json = (rel: string): unknown => JSON.parse(text(rel)) as unknown

const NONE: CgroupPod = {runtime: null, podUid: null, qos: null, containerId: null, containerRuntime: null, podmanPodId: null, conmon: false}
const k8s = (podUid: string, qos: CgroupPod['qos'], containerId: string | null, containerRuntime: CgroupPod['containerRuntime'], conmon = false): CgroupPod => ({
  ...NONE,
  runtime: 'kubernetes',
  podUid,
  qos,
  containerId,
  containerRuntime,
  conmon,
})

// Inputs that are not what the parsers expect: each must give an empty/null answer, never a throw.
const GARBAGE: unknown[] = [undefined, null, 0, 42, NaN, true, '', 'not json {', '[]', '{}', [], {}, [null], [1, 'x'], {status: 5}, {items: 'x'}, () => 1]

describe('sandbox parsers', () => {
  describe('parseProcCgroup', () => {
    it('splits a v1 file into one line per hierarchy, with controllers and the named systemd hierarchy', () => {
      const lines = parseProcCgroup(text('cgroup/cgroupfs-v1-besteffort.txt'))
      assert.equal(lines.length, 11)
      const path = '/kubepods/besteffort/pod74c13223-5a00-11e9-b385-42010a80018d/34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376'
      assert.deepEqual(lines[0], {hierarchyId: 11, controllers: ['devices'], version: 1, path, deleted: false})
      assert.deepEqual(lines[7].controllers, ['cpu', 'cpuacct'])
      assert.deepEqual(lines[10], {hierarchyId: 1, controllers: ['name=systemd'], version: 1, path, deleted: false})
    })

    it('keeps the colons inside a path (cgroupfs driver given a systemd cgroupsPath)', () => {
      const lines = parseProcCgroup(text('cgroup/containerd-driver-mismatch-v1-besteffort.txt'))
      assert.equal(lines.length, 6)
      assert.deepEqual(lines[1], {
        hierarchyId: 10,
        controllers: ['blkio'],
        version: 1,
        path: '/system.slice/containerd.service/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice:cri-containerd:ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459',
        deleted: false,
      })
    })

    it('reads a hybrid file: v1 lines plus the unified 0:: line (podman, this machine)', () => {
      const ids = env('podman/shared-pid/ids.env')
      const lines = parseProcCgroup(text('podman/shared-pid/infra.cgroup'))
      assert.equal(lines.length, 10)
      const v2 = lines.filter((l) => l.version === 2)
      assert.deepEqual(v2, [{hierarchyId: 0, controllers: [], version: 2, path: `/libpod_parent/${ids.POD_ID}/libpod-${ids.INFRA_ID}`, deleted: false}])
      assert.deepEqual(lines.find((l) => l.hierarchyId === 9)?.controllers, ['name=systemd'])
    })

    it('reads the kernel documentation views from inside, outside and beside a cgroup namespace', () => {
      const lines = kernelLines().map((l) => parseProcCgroup(l))
      assert.deepEqual(
        lines.map((l) => l.map((x) => [x.version, x.path])),
        [[[2, '/']], [[2, '/sub_cgrp_1']], [[2, '/batchjobs/container_id1/sub_cgrp_1']], [[2, '/../container_id2/sub_cgrp_1']]],
      )
    })

    it('strips the " (deleted)" mark of a removed v2 cgroup, handles CRLF, skips malformed lines', () => {
      const t = '0::/kubepods.slice/x.scope (deleted)\r\n3:cpu:/a\r\nnonsense\n4:memory:relative\n:::\n5:pids: (deleted)\n'
      assert.deepEqual(parseProcCgroup(t), [
        {hierarchyId: 0, controllers: [], version: 2, path: '/kubepods.slice/x.scope', deleted: true},
        {hierarchyId: 3, controllers: ['cpu'], version: 1, path: '/a', deleted: false},
        {hierarchyId: 5, controllers: ['pids'], version: 1, path: '', deleted: true},
      ])
    })

    it('gives [] for garbage and never throws', () => {
      for (const g of GARBAGE) assert.deepEqual(parseProcCgroup(g as string), [])
      assert.deepEqual(parseProcCgroup('\u0000\uffff:::::'), [])
    })
  })

  describe('podFromCgroup on /proc/PID/cgroup files', () => {
    const cases: Array<[string, CgroupPod]> = [
      [
        'crio-systemd-v1-burstable.txt',
        k8s('a5c1f8d5-1919-434d-add7-4afaafdaef89', 'burstable', '5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c', 'cri-o'),
      ],
      [
        'docker-systemd-v1-burstable.txt',
        k8s('7d4424e6-bb13-42f4-a47a-45a4828bf54d', 'burstable', 'd0b3604b67ac7930dd34ba3a796627e3e4717d12309e90a4afe3f38b6816ac98', 'docker'),
      ],
      [
        'containerd-driver-mismatch-v1-besteffort.txt',
        k8s('0125ec2f-b64a-4868-8f5b-94b56cbab864', 'besteffort', 'ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459', 'containerd'),
      ],
      [
        'containerd-driver-mismatch-v1-burstable.txt',
        k8s('b96a7488-3ee1-4bdc-9c98-155cc887b417', 'burstable', '6ef14b5a76df7b5d24285e3a04ccbc6fd323620272b3787b5dc440fc1b75d294', 'containerd'),
      ],
      [
        // cgroupfs driver: the leaf is the bare id, which does not say which runtime made it
        'cgroupfs-v1-besteffort.txt',
        k8s('74c13223-5a00-11e9-b385-42010a80018d', 'besteffort', '34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376', null),
      ],
      [
        // a podman container outside any pod; name=systemd carries systemd's own /init.scope below it
        'podman-systemd-v1-nonpod.txt',
        {...NONE, containerId: '2521e906f0a0c758c3a7dc4fd68c197e32e96abb4b36807d0b0ede6d014a7c24', containerRuntime: 'podman'},
      ],
    ]
    for (const [file, want] of cases) {
      it(file, () => assert.deepEqual(podFromCgroup(parseProcCgroup(text(`cgroup/${file}`))), want))
    }

    it('covers every .txt fixture', () => {
      const files = readdirSync(join(FIXTURES, 'cgroup')).filter((f) => f.endsWith('.txt'))
      assert.deepEqual(files.sort(), cases.map(([f]) => f).sort())
    })

    for (const dir of ['shared-pid', 'private-pid']) {
      it(`podman pod on this machine (cgroupfs manager, hybrid): ${dir} infra and member`, () => {
        const ids = env(`podman/${dir}/ids.env`)
        const infra = podFromCgroup(parseProcCgroup(text(`podman/${dir}/infra.cgroup`)))
        const ctr = podFromCgroup(parseProcCgroup(text(`podman/${dir}/ctr.cgroup`)))
        assert.deepEqual(infra, {...NONE, runtime: 'podman', podmanPodId: ids.POD_ID, containerId: ids.INFRA_ID, containerRuntime: 'podman'})
        assert.deepEqual(ctr, {...NONE, runtime: 'podman', podmanPodId: ids.POD_ID, containerId: ids.CTR_ID, containerRuntime: 'podman'})
      })
    }

    it('prefers the unified line, falls back to v1 lines when a zombie shows "/" there', () => {
      const crio = 'kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope'
      // hand-made from the CRI-O sample: v1 lines of an exiting task read "/", the unified line keeps the path
      const zombie = `4:memory:/\n1:name=systemd:/\n0::/kubepods.slice/kubepods-burstable.slice/${crio} (deleted)\n`
      assert.deepEqual(
        podFromCgroup(parseProcCgroup(zombie)),
        k8s('a5c1f8d5-1919-434d-add7-4afaafdaef89', 'burstable', '5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c', 'cri-o'),
      )
    })

    it('finds nothing in the kernel documentation lines, which name no pod', () => {
      for (const l of kernelLines()) assert.deepEqual(podFromCgroup(parseProcCgroup(l)), NONE)
    })

    it('gives the empty answer for garbage and never throws', () => {
      for (const g of GARBAGE) assert.deepEqual(podFromCgroup(g as never), NONE)
      assert.deepEqual(podFromCgroup([{hierarchyId: 0, controllers: [], version: 2, path: 5 as never, deleted: false}]), NONE)
    })
  })

  describe('podFromCgroupPath on paths from other sources', () => {
    const want: Record<string, CgroupPod> = {
      // Guaranteed pod, systemd driver: no QoS slice in between
      'kata-11598': k8s('dc430cd3-34b7-4ea6-be26-ddfd88d7ddff', 'guaranteed', '8564224395a4fbf7f2792baa22ee16dfc8f8e862e20342d3b2bcc211a3939af6', 'containerd'),
      // kind: kubelet's cgroup root is kubelet.slice, so every slice name carries the `kubelet-` prefix
      'nri-227': k8s('1e597579-417e-482f-bf65-5fe170c3aebd', 'besteffort', 'd7dfb4a21fe1703a8537e60d5af248af729315d187b24a538102d14874c8117d', 'containerd'),
      'runc-4620': k8s('207aaad1-659f-4db8-88e0-46e0cdcc3004', 'burstable', '32da98c8522068be05a7510a3eddb09cad6ed2f03286180d0e931d0d0b6224a6', 'cri-o', true),
      'sysbox-618': k8s('1d572999-c9f3-45bd-b378-9df614214da6', 'besteffort', '87554950a53dd2ed856512d201cec166fa6c5dbab20186489d6a0e8c13c20586', 'cri-o'),
      'talos-3950': k8s('18d34ce4-50c7-452c-9df8-53c4a3fdf363', 'besteffort', 'a684bbdd0c4b6937b5ece9713bed661305ab0de570eb12b7c28a032aaf602937', null),
      // static pod: the UID is kubelet's 32-hex config hash, left undashed (it is how /var/log/pods names it too)
      'kubernetes-115609': k8s('580089d6e069d3234bc4d982905c6673', 'burstable', '0f1080f80dc3ad60cbb35672bacab279dd769e65de7f91db2d2ed66e2e11d3a6', 'cri-o'),
      'minikube-11280': k8s('2ca4a155-3599-498d-bb9d-4446693fa3ea', 'besteffort', '0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0', 'cri-o'),
      'veth-ethtool': k8s('0e760759-7576-4c0b-89d0-bf5c9539026e', 'besteffort', null, null),
      'podman-13673': {
        ...NONE,
        runtime: 'podman',
        podmanPodId: 'ddf44d54b520f0b4469fcd01c3155ca49e6911dc2175471eb3a7b789187a7a89',
        containerId: '1dadda571b14eefb3158a15d0fff7e0089f9dd92f922679ed0116cccdfe8bb0f',
        containerRuntime: 'podman',
      },
    }
    const podOnly: Record<string, string> = {
      'user.slice/user-1000.slice/user@1000.service/user.slice/user-libpod_pod_759b48e641608d2dc8ecef44084d4671b9d127e4f39d9cdfa9c9bb326cfe64f0.slice':
        '759b48e641608d2dc8ecef44084d4671b9d127e4f39d9cdfa9c9bb326cfe64f0',
      'machine.slice/machine-libpod_pod_2df19026a989667f0c9956723a45b25ccd32c0efaec19d375727d37622709040.slice':
        '2df19026a989667f0c9956723a45b25ccd32c0efaec19d375727d37622709040',
    }
    const paths = json('cgroup/paths.json') as Array<{source: string; path: string}>

    for (const {source, path} of paths) {
      it(`${source}: ${path.slice(0, 70)}…`, () => {
        const expected = want[source] ?? (podOnly[path] ? {...NONE, runtime: 'podman' as const, podmanPodId: podOnly[path]} : undefined)
        assert.ok(expected, `no expectation for ${source}`)
        assert.deepEqual(podFromCgroupPath(path), expected)
      })
    }

    it('reads the same pod from inside another cgroup namespace (relative path with ..)', () => {
      const kind = paths.find((p) => p.source === 'nri-227')!.path.replace('/sys/fs/cgroup/kubelet.slice/kubelet-kubepods.slice', '/../..')
      assert.equal(podFromCgroupPath(kind).podUid, '1e597579-417e-482f-bf65-5fe170c3aebd')
    })

    it('podman#20423: a crun container outside any pod, one level below its scope', () => {
      const line = (json('cgroup/lines.json') as Array<{source: string; line: string}>).find((l) => l.source === 'podman-20423')!.line
      assert.deepEqual(podFromCgroup(parseProcCgroup(line)), {
        ...NONE,
        containerId: 'cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb',
        containerRuntime: 'podman',
      })
    })

    it('Guaranteed pod, cgroupfs driver: synthetic, the layout is kubelet source only (no captured sample found)', () => {
      // kubelet pod_container_manager_linux.go: Guaranteed pods sit directly under the root `kubepods`
      assert.deepEqual(
        podFromCgroupPath('/kubepods/pod74c13223-5a00-11e9-b385-42010a80018d/34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376'),
        k8s('74c13223-5a00-11e9-b385-42010a80018d', 'guaranteed', '34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376', null),
      )
    })

    it('does not take look-alikes for pods', () => {
      assert.deepEqual(podFromCgroupPath('/kubepods.slice/kubepods-burstable.slice'), NONE)
      assert.deepEqual(podFromCgroupPath('/system.slice/pod-hass.service'), NONE)
      assert.deepEqual(podFromCgroupPath('/kubepods/besteffort/podnot-a-uid/abc'), NONE)
      assert.deepEqual(podFromCgroupPath('/other/burstable/pod74c13223-5a00-11e9-b385-42010a80018d/x'), NONE)
      assert.deepEqual(podFromCgroupPath('/libpod_parent/conmon'), NONE)
      for (const g of GARBAGE) assert.deepEqual(podFromCgroupPath(g as string), NONE)
    })
  })

  describe('kubelet pod log directories', () => {
    const dirs: Array<[string, string, string, string]> = [
      // [directory name, namespace, name, uid]; sources in test/fixtures/cgroup/README.md
      ['test-ns-fc5ef8f4_red-deployment-5bc7b56845-cgt7w_0e760759-7576-4c0b-89d0-bf5c9539026e', 'test-ns-fc5ef8f4', 'red-deployment-5bc7b56845-cgt7w', '0e760759-7576-4c0b-89d0-bf5c9539026e'],
      ['default_segfaulter_aaaa2b4a-f398-41c0-928b-049e1cc4ec40', 'default', 'segfaulter', 'aaaa2b4a-f398-41c0-928b-049e1cc4ec40'],
      ['kube-system_kube-apiserver-minikube_af8a252bb89a737e9c95199d01283487', 'kube-system', 'kube-apiserver-minikube', 'af8a252bb89a737e9c95199d01283487'],
    ]
    for (const [dir, namespace, name, uid] of dirs) {
      it(dir, () => {
        assert.deepEqual(parsePodLogDir(dir), {namespace, name, uid})
        assert.deepEqual(parsePodLogDir(`/var/log/pods/${dir}/`), {namespace, name, uid})
      })
    }

    it('rejects the pre-1.14 layout (UID only) and names that cannot be pods', () => {
      for (const bad of [
        '6db22ad086cc13a18bf0bd00eeaf6e05',
        '0a051756-8d6c-11e7-b698-000c29bb38fc',
        'default_segfaulter',
        'default_seg_faulter_aaaa2b4a-f398-41c0-928b-049e1cc4ec40',
        'Default_segfaulter_aaaa2b4a-f398-41c0-928b-049e1cc4ec40',
        'default_segfaulter_AAAA2B4A-F398-41C0-928B-049E1CC4EC40',
        'default_segfaulter_not-a-uid',
        '_segfaulter_aaaa2b4a-f398-41c0-928b-049e1cc4ec40',
      ]) {
        assert.equal(parsePodLogDir(bad), null, bad)
      }
      for (const g of GARBAGE) assert.equal(parsePodLogDir(g as string), null)
    })

    it('indexes a listing by UID and matches the UID a cgroup path gives', () => {
      const index = indexPodLogDirs([...dirs.map(([d]) => d), 'lost+found', '6db22ad086cc13a18bf0bd00eeaf6e05'])
      assert.deepEqual([...index.keys()], dirs.map(([, , , uid]) => uid))
      const uid = podFromCgroupPath('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podaaaa2b4a_f398_41c0_928b_049e1cc4ec40.slice').podUid
      assert.deepEqual(index.get(uid!), {namespace: 'default', name: 'segfaulter', uid: 'aaaa2b4a-f398-41c0-928b-049e1cc4ec40'})
      for (const g of GARBAGE) assert.equal(indexPodLogDirs(g as string[]).size, 0)
    })
  })

  describe('podman', () => {
    it('ps -a --format json (podman 4.3, this machine): every container of both pods', () => {
      const shared = env('podman/shared-pid/ids.env')
      const priv = env('podman/private-pid/ids.env')
      const got = parsePodmanPs(json('podman/ps-a.json'))
      const mine = got.filter((c) => c.podId === shared.POD_ID || c.podId === priv.POD_ID)
      const want = [shared, priv].flatMap((ids) => [
        // PodName is "" without `--pod`; infra containers are named after the pod id's first 12 characters
        {id: ids.INFRA_ID, name: `${ids.POD_ID.slice(0, 12)}-infra`, pid: Number(ids.INFRA_PID), podId: ids.POD_ID, podName: null, isInfra: true, state: 'running'},
        {id: ids.CTR_ID, name: ids.CTR_NAME, pid: Number(ids.CTR_PID), podId: ids.POD_ID, podName: null, isInfra: false, state: 'running'},
      ])
      const byId = (a: {id: string}, b: {id: string}): number => a.id.localeCompare(b.id)
      assert.deepEqual([...mine].sort(byId), want.sort(byId))
    })

    it('ps -a --format json with and without --pod: a created pod, pid 0 is null', () => {
      const base = {
        id: '59a44679be261ac0c287205ac659c765dadb6cd18a692881bf7c6a77c7daf0fb',
        name: '5cf3856d7ffd-infra',
        pid: null,
        podId: '5cf3856d7ffd071d8ea9493462abe4e79d8a2ac0f7341ab52fc06cae77d684fe',
        isInfra: true,
        state: 'created',
      }
      assert.deepEqual(parsePodmanPs(json('podman-parsers/ps-a-created.json')), [{...base, podName: null}])
      assert.deepEqual(parsePodmanPs(json('podman-parsers/ps-a-pod-created.json')), [{...base, podName: 'pt-sample-22953'}])
    })

    it('gives null / [] for garbage, skips broken entries, never throws', () => {
      for (const g of GARBAGE) {
        assert.deepEqual(parsePodmanPs(g), [])
      }
      assert.deepEqual(parsePodmanPs([null, {Id: 3}, {Id: 'x', Names: 'old-style', Pid: 12, IsInfra: 'true', State: 2}]), [
        {id: 'x', name: 'old-style', pid: 12, podId: null, podName: null, isInfra: false, state: null},
      ])
    })
  })
})

function env(rel: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text(rel).split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

function kernelLines(): string[] {
  return (json('cgroup/lines.json') as Array<{source: string; line: string}>).filter((l) => l.source === 'kernel-cgroupns').map((l) => l.line)
}
