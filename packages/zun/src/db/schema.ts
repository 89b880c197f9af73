import type { Generated } from 'kysely';

/** The SQL tables (kysely's table interfaces). Booleans are 0/1 integers and JSON is text, so SQLite and PostgreSQL share one schema. */
export interface NetworkTable {
  uuid: string;
  name: string;
  project_id: string;
  user_id: string;
  neutron_net_id: string;
  neutron_subnet_id: string | null;
  neutron_subnet_v6_id: string | null;
  neutron_pool_id: string | null;
  host: string;
  docker_name: string;
  docker_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface ContainerTable {
  uuid: string;
  name: string;
  project_id: string;
  user_id: string;
  image: string;
  command: string;
  environment: string;
  workdir: string | null;
  hostname: string | null;
  status: string;
  status_reason: string | null;
  task_state: string | null;
  host: string;
  container_id: string | null;
  sandbox_id: string | null;
  security_groups: string;
  exposed_ports: string;
  exposed_sg_id: string | null;
  auto_start: number;
  requested_nets: string;
  created_at: string;
  updated_at: string;
}

export interface NetworkAttachmentTable {
  uuid: string;
  container_uuid: string;
  network_uuid: string;
  neutron_net_id: string;
  port_id: string;
  mac_address: string;
  addresses: string;
  preserve_on_delete: number;
  project_id: string;
  created_at: string;
  /** 1 while the attach or detach that wrote it is not finished (migration 0003). */
  pending: Generated<number>;
}

export interface Database {
  network: NetworkTable;
  container: ContainerTable;
  network_attachment: NetworkAttachmentTable;
}
