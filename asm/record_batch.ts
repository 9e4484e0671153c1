// Kernel module under construction; see core/formats for its TypeScript twin.
