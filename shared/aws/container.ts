/**
 * A Lambda handler's system, built once per container from the function's environment: the
 * configuration is read and checked here, at the edge, and nothing reads the environment again.
 * In Lambda (AWS_LAMBDA_FUNCTION_NAME is set) the system is built as the module loads, so a
 * configuration error fails the cold start instead of a request; elsewhere (the module imported
 * by a script or a test) on first use.
 */
import { loadConfig, type Config } from '../config.js';
import { createSystem, type Core, type Ports } from '../system.js';

/** The system of the ports `ports` makes from the configuration, once per container. */
export function containerSystem<P extends Partial<Ports>>(
  ports: (config: Config) => P,
  env: Record<string, string | undefined> = process.env,
): () => Core & P {
  let built: (Core & P) | undefined;
  const system = () => {
    if (built) return built;
    const config = loadConfig(env);
    return (built = createSystem(config, ports(config)));
  };
  if (env.AWS_LAMBDA_FUNCTION_NAME) system();
  return system;
}
